using System.Diagnostics;
using System.Text.Json;
using VideoData.Testing;

namespace VideoData.Training.Tests;

/// <summary>Runs SQL through DuckDB (the npm package installed by setup.sh --tests): an independent Parquet reader.</summary>
internal static class DuckDb
{
    public static async Task<JsonElement[]> QueryJsonAsync(params string[] queries)
    {
        // An ES module resolves packages from its own folder upwards, so the script lives beside .tools/node_modules.
        var script = Path.Combine(RepoPaths.ToolsNodeModules, "..", $"videodata-duckdb-{Guid.NewGuid():N}.mjs");
        var js = $$"""
            import { DuckDBInstance } from '@duckdb/node-api';
            const instance = await DuckDBInstance.create(':memory:');
            const conn = await instance.connect();
            const out = [];
            for (const q of {{JsonSerializer.Serialize(queries)}}) {
              const reader = await conn.runAndReadAll(q);
              out.push(reader.getRowObjectsJson());
            }
            process.stdout.write(JSON.stringify(out));
            """;
        await File.WriteAllTextAsync(script, js);
        try
        {
            var psi = new ProcessStartInfo("node", script) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"DuckDB query failed ({process.ExitCode}): {await stderr}");
            }

            using var doc = JsonDocument.Parse(await stdout);
            return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
        }
        finally
        {
            File.Delete(script);
        }
    }
}

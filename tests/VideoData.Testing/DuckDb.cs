using System.Diagnostics;
using System.Text.Json;

namespace VideoData.Testing;

/// <summary>Runs SQL through DuckDB (npm <c>@duckdb/node-api</c>, installed into .tools by setup.sh --tests): an independent Parquet reader.</summary>
public static class DuckDb
{
    /// <summary>Runs each query and returns its rows as a JSON array, one element per query.</summary>
    public static async Task<JsonElement[]> QueryJsonAsync(params string[] queries)
    {
        var package = Path.Combine(RepoPaths.ToolsNodeModules, "@duckdb", "node-api");
        if (!Directory.Exists(package))
        {
            throw new InvalidOperationException($"DuckDB for node is not installed at {package}; run infra/scripts/setup.sh --tests.");
        }

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
            var start = new ProcessStartInfo("node", script) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"DuckDB query failed ({process.ExitCode}): {await stderr}");
            }

            using var document = JsonDocument.Parse(await stdout);
            return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
        }
        finally
        {
            File.Delete(script);
        }
    }
}

using System.Diagnostics;
using System.Text.Json;
using VideoData.Captions.Import;
using VideoData.Captions.Tokenization;
using VideoData.Testing;

namespace VideoData.Captions.Tests.Import;

public sealed class CaptionImporterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-captions-import-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ImportAsync_AnyParallelism_SameTables()
    {
        var input = Path.Combine(_dir, "raw_caption.json");
        CorpusGenerator.Write(input, 600, damagedEvery: 250, seed: 2);
        var one = await CaptionImporter.ImportAsync(new CaptionImportOptions { InputPath = input, OutputDirectory = Path.Combine(_dir, "p1"), ShardSize = 256, Parallelism = 1 });
        var three = await CaptionImporter.ImportAsync(new CaptionImportOptions { InputPath = input, OutputDirectory = Path.Combine(_dir, "p3"), ShardSize = 256, Parallelism = 3 });
        Assert.Equal(one.Counts, three.Counts);
        Assert.Equal(one.Damaged, three.Damaged);
        for (var shard = 0; shard < one.Shards; shard++)
        {
            var left = await CaptionTable.ReadAsync(one.ShardFiles[shard]);
            var right = await CaptionTable.ReadAsync(three.ShardFiles[shard]);
            Assert.Equal(
                left.Select(row => (row.VideoId, string.Join('|', row.Segments.Select(s => $"{s.Start}-{s.End}-{s.Text}-{string.Join(',', s.TokenIds)}")))),
                right.Select(row => (row.VideoId, string.Join('|', row.Segments.Select(s => $"{s.Start}-{s.End}-{s.Text}-{string.Join(',', s.TokenIds)}")))));
        }
    }

    [Fact]
    public async Task ImportAsync_TablesReadableByDuckDb()
    {
        var input = Path.Combine(_dir, "raw_caption.json");
        await File.WriteAllTextAsync(input, "{\"vidA\": {\"start\": [0, 1.5], \"end\": [2, 3], \"text\": [\"I like\", \"like strawberries\"]}, \"vidB\": {\"start\": [], \"end\": [], \"text\": []}}");
        var output = Path.Combine(_dir, "out");
        var summary = await CaptionImporter.ImportAsync(new CaptionImportOptions { InputPath = input, OutputDirectory = output, ShardSize = 10, Cleaner = { Seed = 5 } });
        var path = summary.ShardFiles.Single();
        var json = await DuckDb.QueryJsonAsync(
            $"SELECT video_id, len(segments) AS n, segments FROM read_parquet('{path}') ORDER BY video_id",
            $"SELECT key::VARCHAR AS k, value::VARCHAR AS v FROM parquet_kv_metadata('{path}')");
        var rows = json[0].EnumerateArray().ToDictionary(row => row.GetProperty("video_id").GetString()!);
        Assert.Equal(2, rows.Count);
        Assert.Equal("0", rows["vidB"].GetProperty("n").GetString());
        var segments = rows["vidA"].GetProperty("segments").EnumerateArray().ToList();
        var table = await CaptionTable.ReadAsync(path);
        var expected = table.Single(row => row.VideoId == "vidA").Segments;
        Assert.Equal(expected.Count, segments.Count);
        Assert.Equal(expected.Select(s => s.Text), segments.Select(s => s.GetProperty("text").GetString()));
        Assert.Equal(expected.SelectMany(s => s.TokenIds), segments.SelectMany(s => s.GetProperty("token_ids").EnumerateArray().Select(id => id.GetInt32())));
        // Either coin side splits "I like" / "like strawberries" so the words appear once: i like straw ##berries.
        Assert.Equal([1045, 2066, 13137, 20968], segments.SelectMany(s => s.GetProperty("token_ids").EnumerateArray().Select(id => id.GetInt32())));
        var meta = json[1].EnumerateArray().ToDictionary(row => row.GetProperty("k").GetString()!, row => row.GetProperty("v").GetString()!);
        Assert.Equal("reference", meta["videodata.captions.dedup"]);
        Assert.Equal("5", meta["videodata.captions.seed"]);
        Assert.Equal("0", meta["videodata.captions.shard"]);
    }

    [Fact]
    public async Task ImportAsync_BadOptionsOrOutput_ThrowNamingTheProblem()
    {
        var input = Path.Combine(_dir, "raw_caption.json");
        await File.WriteAllTextAsync(input, "{}");
        var size = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CaptionImporter.ImportAsync(new CaptionImportOptions { InputPath = input, OutputDirectory = _dir, ShardSize = 0 }));
        Assert.Contains("ShardSize", size.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => CaptionImporter.ImportAsync(new CaptionImportOptions { InputPath = Path.Combine(_dir, "none.json"), OutputDirectory = _dir }));
        Assert.Contains("none.json", missing.Message, StringComparison.Ordinal);
        var output = Path.Combine(_dir, "out");
        var empty = await CaptionImporter.ImportAsync(new CaptionImportOptions { InputPath = input, OutputDirectory = output });
        Assert.Equal((0L, 0), (empty.Videos, empty.Shards));
        await File.WriteAllTextAsync(Path.Combine(output, "shard-00000.parquet"), "old");
        var occupied = await Assert.ThrowsAsync<IOException>(() => CaptionImporter.ImportAsync(new CaptionImportOptions { InputPath = input, OutputDirectory = output }));
        Assert.Contains("already holds caption shards", occupied.Message, StringComparison.Ordinal);
    }

}

/// <summary>Runs SQL through DuckDB (the npm package setup.sh --tests installs into .tools/): an independent Parquet reader.</summary>
internal static class DuckDb
{
    public static async Task<JsonElement[]> QueryJsonAsync(params string[] queries)
    {
        // An ES module resolves packages from its own folder upwards, so the script sits beside .tools/node_modules.
        var script = Path.Combine(RepoPaths.ToolsNodeModules, "..", $"videodata-captions-duckdb-{Guid.NewGuid():N}.mjs");
        await File.WriteAllTextAsync(script, $$"""
            import { DuckDBInstance } from '@duckdb/node-api';
            const connection = await (await DuckDBInstance.create(':memory:')).connect();
            const results = [];
            for (const query of {{JsonSerializer.Serialize(queries)}}) {
              results.push((await connection.runAndReadAll(query)).getRowObjectsJson());
            }
            process.stdout.write(JSON.stringify(results));
            """);
        try
        {
            using var process = Process.Start(new ProcessStartInfo("node", script) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"DuckDB query failed ({process.ExitCode}); run infra/scripts/setup.sh --tests: {await stderr}");
            }

            using var document = JsonDocument.Parse(await stdout);
            return [.. document.RootElement.EnumerateArray().Select(element => element.Clone())];
        }
        finally
        {
            File.Delete(script);
        }
    }
}

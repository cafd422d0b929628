using System.Diagnostics;
using VideoData.Shards;

namespace VideoData.Testing;

/// <summary>Feature shard test data shared by the shard format's tests and the commands that write or inspect shards.</summary>
public static class FeatureShardTestData
{
    /// <summary>
    /// A record with <paramref name="seconds"/> seconds of seeded values in [-1, 1), optionally mixed_5c, and
    /// <paramref name="captions"/> segments including empty texts and empty token lists.
    /// </summary>
    public static FeatureRecord MakeRecord(string id, int seconds, bool mixed, int captions, int seed)
    {
        var random = new Random(seed);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        return new FeatureRecord
        {
            VideoId = id,
            Duration = Math.Max(0, seconds - 0.25),
            Seconds = seconds,
            Features = Values(seconds * 512),
            Mixed5cDim = mixed ? 1024 : 0,
            Mixed5c = mixed ? Values(seconds * 1024) : null,
            Captions = Enumerable.Range(0, captions)
                .Select(i => new CaptionSegment(i * 2.5, (i * 2.5) + 2, i % 3 == 1 ? "" : $"segment {i} of {id} — ünïcode", Enumerable.Range(0, i % 3 == 1 ? 0 : (i % 5) + 1).Select(t => 1000 + t + i).ToArray()))
                .ToList(),
        };
    }

    /// <summary>Reads <paramref name="shard"/> with DuckDB (an independent Parquet reader) and returns its rows and metadata as JSON.</summary>
    public static string RunDuckDb(string shard)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "VideoData.Shards.Tests", "FeatureShards", "read_shard_duckdb.cjs");
        var duckdb = Path.Combine(RepoPaths.ToolsNodeModules, "@duckdb", "node-api");
        Assert.True(Directory.Exists(duckdb), $"DuckDB for node is not installed at {duckdb}; run infra/scripts/setup.sh --tests.");
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(RepoPaths.ToolsNodeModules);
        start.ArgumentList.Add(shard);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"DuckDB reader failed ({process.ExitCode}): {stderr.Result}");
        return stdout;
    }
}

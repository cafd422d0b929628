using VideoData.Pipeline.Ledger;
using VideoData.Testing;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>The real <c>videodata preprocess</c> program: killed at random moments, and run as several workers at once.</summary>
[Collection(PipelineCollection.Name)]
public sealed class WorkerProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-workers-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Preprocess_KilledAtRandomMomentsAndRestarted_SameFinalOutputsAsAnUninterruptedRun()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var baseline = Path.Combine(_dir, "baseline");
        var crashed = Path.Combine(_dir, "crashed");
        var done = await VideoDataCli.RunAsync(null, Arguments(corpus.Manifest, baseline));
        Assert.True(done.ExitCode == 0, done.Stderr);

        // Each trial is killed (SIGKILL) a random 0-400 ms after the first committed file it produces: a video's work
        // file, a shard, a ledger or stats. So every trial makes some progress and dies somewhere in the middle of
        // decoding, encoding, writing or publishing, whatever the speed of the machine. A trial that produces
        // nothing within a minute, or finishes first, is not killed.
        var random = new Random(20261125);
        var killed = 0;
        for (var trial = 0; trial < 10; trial++)
        {
            var before = CommittedFiles(crashed);
            using var process = VideoDataCli.Start(null, Arguments(corpus.Manifest, crashed));
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            while (!process.HasExited && DateTime.UtcNow < deadline && CommittedFiles(crashed).SetEquals(before))
            {
                await Task.Delay(20);
            }

            await Task.Delay(random.Next(0, 400));
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
                killed++;
            }

            await process.WaitForExitAsync();
        }

        var final = await VideoDataCli.RunAsync(null, Arguments(corpus.Manifest, crashed));
        Assert.True(final.ExitCode == 0, final.Stderr);

        Assert.True(killed >= 5, $"only {killed} of 10 trials were killed before finishing");
        var expected = await PipelineCorpus.ReadShardsAsync(Path.Combine(baseline, "shards"));
        var actual = await PipelineCorpus.ReadShardsAsync(Path.Combine(crashed, "shards"));
        PipelineCorpus.AssertSameContent(expected, actual);
        Assert.Equal(await LedgerSummaryAsync(baseline), await LedgerSummaryAsync(crashed));
        Assert.False(Directory.Exists(Path.Combine(crashed, "_work")) && Directory.EnumerateFiles(Path.Combine(crashed, "_work"), "*.parquet", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task Preprocess_FourWorkerProcesses_EachVideoExactlyOnce()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var output = Path.Combine(_dir, "parallel");
        // shard_size 2 gives five shards over nine videos, so every worker owns at least one.
        var runs = Enumerable.Range(0, 4)
            .Select(i => VideoDataCli.RunAsync(null, [.. Arguments(corpus.Manifest, output), "--set", "shard_size=2", "--shard-index", $"{i}", "--shard-count", "4"]))
            .ToList();
        var results = await Task.WhenAll(runs);

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Stderr));
        var ledgers = Directory.EnumerateFiles(Path.Combine(output, "ledger"), "*.json").ToList();
        Assert.Equal(5, ledgers.Count);
        var entries = new List<LedgerEntry>();
        foreach (var file in ledgers)
        {
            entries.AddRange(System.Text.Json.JsonSerializer.Deserialize<ShardLedger>(File.ReadAllText(file), ShardLedger.JsonOptions)!.Videos);
        }

        var manifestIds = File.ReadAllLines(corpus.Manifest).Skip(1).Select(l => l.Split(',')[0]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(manifestIds, entries.Select(e => e.VideoId).Order(StringComparer.Ordinal));
        var records = await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards"));
        Assert.Equal(entries.Where(e => e.IsDone).Select(e => e.VideoId).Order(StringComparer.Ordinal), records.Keys.Order(StringComparer.Ordinal));
    }

    private static string[] Arguments(string manifest, string output) =>
    [
        "preprocess", "--manifest", manifest, "--output", output, "--progress", "json",
        "--set", "shard_size=4", "--set", "decode.fps=16", "--set", "decode.size=112", "--set", "decode.decoder=cpu", "--set", "decode.threads=1",
        "--set", "encoder.seconds_per_batch=4", "--set", "stages.decode_parallelism=2", "--set", "stages.decoded_seconds_capacity=8",
    ];

    private static HashSet<string> CommittedFiles(string output) =>
        Directory.Exists(output)
            ? Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetFileName(f).StartsWith('.'))
                .ToHashSet(StringComparer.Ordinal)
            : [];

    private static async Task<string> LedgerSummaryAsync(string output)
    {
        var lines = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(output, "ledger"), "*.json").Order(StringComparer.Ordinal))
        {
            var ledger = System.Text.Json.JsonSerializer.Deserialize<ShardLedger>(await File.ReadAllTextAsync(file), ShardLedger.JsonOptions)!;
            lines.AddRange(ledger.Videos.Select(v => $"{ledger.ShardId} {v.VideoId} {v.Status} {v.FailureClass} {v.Seconds}"));
        }

        return string.Join('\n', lines);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using VideoData.Pipeline.Ledger;
using VideoData.Storage.Sharding;
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
        // One worker at a time (each killed one has exited before the next starts): the shortest lease staleness only ends
        // the wait for the dead worker's lease, which at the default 120 s made the trials after a kill (and the final run)
        // idle instead of working, until the trial's minute ran out.
        string[] Run(string output) => [.. Arguments(corpus.Manifest, output), "--set", "lease_stale_seconds=2"];
        var random = new Random(20261125);
        var killed = 0;
        for (var trial = 0; trial < 10; trial++)
        {
            var before = CommittedFiles(crashed);
            using var process = VideoDataCli.Start(null, Run(crashed));
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

        var final = await VideoDataCli.RunAsync(null, Run(crashed));
        Assert.True(final.ExitCode == 0, final.Stderr);

        Assert.True(killed >= 5, $"only {killed} of 10 trials were killed before finishing");
        var expected = await PipelineCorpus.ReadShardsAsync(Path.Combine(baseline, "shards"));
        var actual = await PipelineCorpus.ReadShardsAsync(Path.Combine(crashed, "shards"));
        PipelineCorpus.AssertSameContent(expected, actual);
        Assert.Equal(await LedgerSummaryAsync(baseline), await LedgerSummaryAsync(crashed));
        Assert.False(Directory.Exists(Path.Combine(crashed, "_work")) && Directory.EnumerateFiles(Path.Combine(crashed, "_work"), "*.parquet", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task Preprocess_InterruptedBySigint_ExitsCleanlyWithoutPartialShards_AndTheRerunMatchesAnUninterruptedRun()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var baseline = Path.Combine(_dir, "baseline-sigint");
        var interrupted = Path.Combine(_dir, "interrupted");
        // One shard for all nine videos: its work segments pile up until the very end, so the signal lands mid-shard.
        // Segments of two videos: the first commit comes early, while most videos are still to do.
        string[] Run(string output) => [.. Arguments(corpus.Manifest, output), "--set", "shard_size=9", "--set", "decode.size=160", "--set", "segment_videos=2"];
        var done = await VideoDataCli.RunAsync(null, Run(baseline));
        Assert.True(done.ExitCode == 0, done.Stderr);

        // Ctrl+C as a terminal sends it, once the run has committed its first video: the others are still in flight.
        using (var process = StartWithDefaultSigint(Run(interrupted)))
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            // Watched and signalled from a thread of its own, so the moment does not depend on the test framework's scheduling.
            var sent = await Task.Factory.StartNew(
                () =>
                {
                    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
                    while (!process.HasExited && DateTime.UtcNow < deadline)
                    {
                        if (Directory.Exists(Path.Combine(interrupted, "_work")) && Directory.EnumerateFiles(Path.Combine(interrupted, "_work"), "*.parquet", SearchOption.AllDirectories).Any())
                        {
                            return SendSignal(process.Id, SigInt) == 0;
                        }

                        Thread.Sleep(10);
                    }

                    return false;
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            Assert.True(sent, $"the run ended before it could be interrupted: {await stderr}");

            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(limit.Token);
            var errors = await stderr;
            Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {errors}{await stdout}");
            Assert.Contains("stopped", errors, StringComparison.Ordinal);
        }

        // Nothing partial is published: no shard, ledger or stats file; what is done so far waits under _work for the rerun.
        Assert.False(Directory.Exists(Path.Combine(interrupted, "shards")) && Directory.EnumerateFiles(Path.Combine(interrupted, "shards")).Any());
        Assert.False(Directory.Exists(Path.Combine(interrupted, "ledger")) && Directory.EnumerateFiles(Path.Combine(interrupted, "ledger")).Any());
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(interrupted, "_work"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(interrupted, ".videodata-tmp-*", SearchOption.AllDirectories));

        // The same command again finishes the job; the outputs equal the uninterrupted run's.
        var resumed = await VideoDataCli.RunAsync(null, Run(interrupted));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        PipelineCorpus.AssertSameContent(
            await PipelineCorpus.ReadShardsAsync(Path.Combine(baseline, "shards")),
            await PipelineCorpus.ReadShardsAsync(Path.Combine(interrupted, "shards")));
        Assert.Equal(await LedgerSummaryAsync(baseline), await LedgerSummaryAsync(interrupted));
    }

    [Fact]
    public async Task Preprocess_AfterAKill_SweepsItsOwnShardsTemporaryFiles_AndLeavesOtherWorkersInFlightFiles()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var output = Path.Combine(_dir, "swept");

        // What a SIGKILL leaves: the local store's temporary files beside each kind of target, for shard 0 (this worker's,
        // with --shard-count 3) and shard 1 (another worker's, possibly still writing them).
        var slot = new WorkerSlot(0, 3);
        var stale = new List<string>();
        var foreign = new List<string>();
        foreach (var shard in new[] { 0, 1 })
        {
            var name = ShardLedger.ShardName(shard);
            var files = new[]
            {
                Path.Combine(output, "_work", name, $".videodata-tmp-demo000.parquet-{Guid.NewGuid():N}"),
                Path.Combine(output, "shards", $".videodata-tmp-{name}.parquet-{Guid.NewGuid():N}"),
                Path.Combine(output, "ledger", $".videodata-tmp-{name}.json-{Guid.NewGuid():N}"),
                Path.Combine(output, "stats", $".videodata-tmp-{name}_stats.json-{Guid.NewGuid():N}"),
            };
            foreach (var file in files)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                await File.WriteAllTextAsync(file, "half written");
            }

            (ShardPlanner.IsAssigned(shard, slot) ? stale : foreign).AddRange(files);
        }

        var run = await VideoDataCli.RunAsync(null, [.. Arguments(corpus.Manifest, output), "--shard-index", "0", "--shard-count", "3"]);
        Assert.True(run.ExitCode == 0, run.Stderr);

        Assert.Equal(4, stale.Count);
        Assert.All(stale, f => Assert.False(File.Exists(f), $"{f} was not swept"));
        Assert.All(foreign, f => Assert.True(File.Exists(f), $"{f} belongs to another worker's shard and was deleted"));
        Assert.Contains("temporary file", run.Stdout + run.Stderr, StringComparison.Ordinal);
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

    /// <summary>
    /// Starts the program the way a terminal does, with SIGINT at its default action: a child inherits an ignored SIGINT
    /// (what a shell gives its background jobs, which CI runners often are), and the runtime then rightly keeps ignoring it.
    /// </summary>
    private static Process StartWithDefaultSigint(string[] arguments)
    {
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["--default-signal=INT", "dotnet", "exec", Path.Combine(AppContext.BaseDirectory, "videodata.dll"), .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in new[] { "VIDEODATA_S3_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX" })
        {
            start.Environment.Remove(name);
        }

        return Process.Start(start)!;
    }

    private const int SigInt = 2;

#pragma warning disable SYSLIB1054 // two ints, nothing to marshal; LibraryImport would need unsafe code here
    [DllImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
#pragma warning restore SYSLIB1054

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

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Amazon.S3.Model;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Ledger;
using VideoData.Pipeline.Run;
using VideoData.Storage.Sharding;
using VideoData.Testing;
using VideoData.Testing.S3;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>
/// The commit path of issue 15 on the real program: deterministic crash points (SIGKILL right after each named step of commit
/// and publish), SIGTERM and Ctrl+C during the publish, manifests that shrink and grow, two workers on one shard, a worker
/// paused past its lease, a full disk. Each compares with an uninterrupted run and checks invariants I1–I5.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class ShardCommitTests : IDisposable
{
    private readonly S3ServerFixture _s3;
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-commit-").FullName;

    public ShardCommitTests(S3ServerFixture s3) => _s3 = s3;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A tmpfs still mounted under it (disk-full test) is unmounted there; nothing else to do.
        }
    }

    // ---- crash points -------------------------------------------------------------------------------------------------

    [Fact]
    public async Task CrashAtEveryStep_Local_RerunEqualsAnUninterruptedRun_IncludingAVideoThatFailedFirst()
    {
        var source = await FlakySourceAsync();
        var first = Path.Combine(_dir, "first");
        await RunOkAsync(AfterCrash(Local(source, first)));
        Assert.Equal("flaky failed fetch 1", Entry(await LedgerAsync(first), "flaky"));
        File.Copy(Path.Combine(source, "videos", "demo003.mp4"), Path.Combine(source, "videos", "flaky.mp4"));

        var baseline = CopyOutput(first, "baseline");
        await RunOkAsync(AfterCrash(Local(source, baseline)));
        var expectedLedger = Summary(await LedgerAsync(baseline));
        Assert.Contains("flaky done  2", expectedLedger, StringComparison.Ordinal);
        var expected = await PipelineCorpus.ReadShardsAsync(Path.Combine(baseline, "shards"));

        foreach (var step in CrashPoints.All)
        {
            var output = CopyOutput(first, "crash-" + step);
            var crashed = await VideoDataCli.RunAsync(Crash(step), AfterCrash(Local(source, output)));
            Assert.True(crashed.ExitCode == 137, $"{step}: exit {crashed.ExitCode}: {crashed.Stderr}");
            Assert.Contains($"VIDEODATA_CRASH_AT={step}", crashed.Stderr, StringComparison.Ordinal);
            AssertLedgerFollowersConsistent(output, step);

            await RunOkAsync(AfterCrash(Local(source, output)));
            Assert.Equal(expectedLedger, Summary(await LedgerAsync(output)));
            PipelineCorpus.AssertSameContent(expected, await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards")));
            AssertNothingLeftBehind(output, step);
        }
    }

    [Fact]
    public async Task CrashAfterSegmentCommit_WithRetryFailed_TheRetriedSuccessIsPublishedByTheRerun()
    {
        var source = await FlakySourceAsync();
        var first = Path.Combine(_dir, "first-rf");
        await RunOkAsync([.. AfterCrash(Local(source, first)), "--set", "max_retries=0"]);
        File.Copy(Path.Combine(source, "videos", "demo003.mp4"), Path.Combine(source, "videos", "flaky.mp4"));

        // Without --retry-failed the failure is settled (max_retries 0): nothing to do.
        var settled = CopyOutput(first, "settled");
        await RunOkAsync([.. AfterCrash(Local(source, settled)), "--set", "max_retries=0"]);
        Assert.Equal("flaky failed fetch 1", Entry(await LedgerAsync(settled), "flaky"));

        // Scenario 1 of the issue: the retry succeeds and is committed, the run dies before the publish; the rerun (which
        // has nothing pending) must publish it rather than throw it away.
        var output = CopyOutput(first, "retry-failed");
        var crashed = await VideoDataCli.RunAsync(Crash(CrashPoints.SegmentCommitted), [.. AfterCrash(Local(source, output)), "--set", "max_retries=0", "--retry-failed"]);
        Assert.Equal(137, crashed.ExitCode);
        await RunOkAsync([.. AfterCrash(Local(source, output)), "--set", "max_retries=0"]);
        Assert.Equal("flaky done  2", Entry(await LedgerAsync(output), "flaky"));
        var records = await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards"));
        Assert.Contains("flaky", records.Keys);
        AssertNothingLeftBehind(output, "retry-failed");
    }

    [Fact]
    public async Task CrashAtPublishSteps_S3_RerunEqualsAnUninterruptedRun()
    {
        var source = await FlakySourceAsync();
        var bucket = await _s3.CreateBucketAsync("crash");
        await using var proxy = FaultInjectingProxy.Start(_s3.Endpoint, new FaultProxyOptions { EnforceConditionalWrites = true });
        await RunOkAsync(AfterCrash(S3(source, bucket, "first", proxy)), S3Environment());
        File.Copy(Path.Combine(source, "videos", "demo003.mp4"), Path.Combine(source, "videos", "flaky.mp4"));
        await CopyPrefixAsync(bucket, "first/", "baseline/");
        await RunOkAsync(AfterCrash(S3(source, bucket, "baseline", proxy)), S3Environment());
        var baseline = await DownloadAsync(bucket, "baseline/");
        var expectedLedger = Summary(await LedgerAsync(baseline));
        var expected = await PipelineCorpus.ReadShardsAsync(Path.Combine(baseline, "shards"));

        foreach (var step in new[] { CrashPoints.SegmentCommitted, CrashPoints.DataFileWritten, CrashPoints.LedgerCommitted, CrashPoints.SupersededDeleted })
        {
            await CopyPrefixAsync(bucket, "first/", $"{step}/");
            var crashed = await VideoDataCli.RunAsync(Crash(step, S3Environment()), AfterCrash(S3(source, bucket, step, proxy)));
            Assert.True(crashed.ExitCode == 137, $"{step}: exit {crashed.ExitCode}: {crashed.Stderr}");
            AssertLedgerFollowersConsistent(await DownloadAsync(bucket, $"{step}/"), step);

            await RunOkAsync(AfterCrash(S3(source, bucket, step, proxy)), S3Environment());
            var output = await DownloadAsync(bucket, $"{step}/");
            Assert.Equal(expectedLedger, Summary(await LedgerAsync(output)));
            PipelineCorpus.AssertSameContent(expected, await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards")));
            AssertNothingLeftBehind(output, step);
        }
    }

    // ---- signals during the publish -----------------------------------------------------------------------------------

    [Theory]
    [InlineData("TERM", 143)]
    [InlineData("INT", 130)]
    public async Task SignalDuringPublish_NothingPartialIsVisible_AndTheRerunCompletesIt(string signal, int exitCode)
    {
        var source = await FlakySourceAsync();
        var first = Path.Combine(_dir, "first-" + signal);
        await RunOkAsync(AfterCrash(Local(source, first)));
        var before = Summary(await LedgerAsync(first));
        var beforeFiles = Directory.GetFiles(Path.Combine(first, "shards"), "*.parquet").Select(Path.GetFileName).ToList();
        File.Copy(Path.Combine(source, "videos", "demo003.mp4"), Path.Combine(source, "videos", "flaky.mp4"));

        var output = CopyOutput(first, "signal-" + signal);
        var environment = new Dictionary<string, string?> { ["VIDEODATA_CRASH_AT"] = CrashPoints.DataFileWritten, ["VIDEODATA_CRASH_SIGNAL"] = signal };
        var stopped = await RunWithDefaultSignalsAsync(environment, AfterCrash(Local(source, output)));
        Assert.True(stopped.ExitCode == exitCode, $"exit {stopped.ExitCode}: {stopped.Stderr}");

        // The publish was under way (its data file written) when the signal came: it is withdrawn, the old pair stays.
        Assert.Equal(before, Summary(await LedgerAsync(output)));
        Assert.Equal(beforeFiles, Directory.GetFiles(Path.Combine(output, "shards"), "*.parquet").Select(Path.GetFileName).ToList());
        Assert.Empty(Directory.EnumerateFiles(output, ".videodata-tmp-*", SearchOption.AllDirectories));

        await RunOkAsync(AfterCrash(Local(source, output)));
        Assert.Equal("flaky done  2", Entry(await LedgerAsync(output), "flaky"));
        AssertNothingLeftBehind(output, signal);
    }

    // ---- manifests that change between runs ---------------------------------------------------------------------------

    [Fact]
    public async Task ManifestLosesARow_ThenGainsTenPercent_EveryVideoInExactlyOneShard_OnlyNewVideosDecoded()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var output = Path.Combine(_dir, "changing");
        var rows = File.ReadAllLines(corpus.Manifest);
        var full = Path.Combine(corpus.Folder, $"manifest-full-{Guid.NewGuid():N}.csv");
        var shrunk = Path.Combine(corpus.Folder, $"manifest-shrunk-{Guid.NewGuid():N}.csv");
        var grown = Path.Combine(corpus.Folder, $"manifest-grown-{Guid.NewGuid():N}.csv");
        await File.WriteAllLinesAsync(full, rows);
        await File.WriteAllLinesAsync(shrunk, rows.Where(r => !r.StartsWith("demo002,", StringComparison.Ordinal)));
        await File.WriteAllLinesAsync(grown, [.. rows, "extra000,videos/demo003.mp4,"]);
        try
        {
            var one = await RunInProcessAsync(full, output);
            var published = await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards"));

            // One row fewer: nothing moves, nothing is redone, the removed video stays where it was, once.
            var two = await RunInProcessAsync(shrunk, output);
            Assert.Empty(two.ShardStats);
            AssertEachVideoOnce(output, published.Keys);

            // 10% more: only the new video is decoded, only its shard is published again.
            var three = await RunInProcessAsync(grown, output);
            var republished = Assert.Single(three.ShardStats);
            Assert.Equal(1, republished.VideosProcessed);
            Assert.Equal(ShardPlanner.BucketOf("extra000", one.Ledgers.Count), republished.ShardId);
            AssertEachVideoOnce(output, [.. published.Keys, "extra000"]);
            Assert.Equal(rows.Length, three.Ledgers.Sum(l => l.Videos.Count)); // 9 original + 1 new
        }
        finally
        {
            File.Delete(full);
            File.Delete(shrunk);
            File.Delete(grown);
        }
    }

    [Fact]
    public async Task ShardSizeChanged_ThePlanRecordedByTheOutputIsKept()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var output = Path.Combine(_dir, "resized");
        var first = await RunInProcessAsync(corpus.Manifest, output);
        var again = await RunInProcessAsync(corpus.Manifest, output, "shard_size=2");

        Assert.Equal(first.Ledgers.Count, again.Ledgers.Count);
        Assert.Empty(again.ShardStats);
        Assert.All(again.Ledgers, l => Assert.Equal(first.Ledgers.Count, l.Plan!.BucketCount));
    }

    // ---- concurrent workers -------------------------------------------------------------------------------------------

    [Fact]
    public async Task TwoWorkersOnOneShard_TenTrialsWithRandomOffsets_Local_EveryVideoExactlyOnce()
    {
        var source = await FlakySourceAsync(includeFlaky: false);
        var random = new Random(15);
        for (var trial = 0; trial < 10; trial++)
        {
            var output = Path.Combine(_dir, $"pair-{trial}");
            var (a, b) = await RunPairAsync(random.Next(0, 1500), () => Local(source, output), null);
            Assert.True(a.ExitCode == 0 && b.ExitCode == 0, $"trial {trial}: {a.Stderr}\n{b.Stderr}");
            AssertPairResult(output, trial);
        }
    }

    [Fact]
    public async Task TwoWorkersOnOneShard_TenTrialsWithRandomOffsets_S3_EveryVideoExactlyOnce()
    {
        var source = await FlakySourceAsync(includeFlaky: false);
        var bucket = await _s3.CreateBucketAsync("pairs");
        await using var proxy = FaultInjectingProxy.Start(_s3.Endpoint, new FaultProxyOptions { EnforceConditionalWrites = true });
        var random = new Random(16);
        for (var trial = 0; trial < 10; trial++)
        {
            var prefix = $"pair-{trial}";
            var (a, b) = await RunPairAsync(random.Next(0, 1500), () => S3(source, bucket, prefix, proxy), S3Environment());
            Assert.True(a.ExitCode == 0 && b.ExitCode == 0, $"trial {trial}: {a.Stderr}\n{b.Stderr}");
            AssertPairResult(await DownloadAsync(bucket, prefix + "/"), trial);
        }

        Assert.True(proxy.ConditionsRefused > 0, "no conditional write was ever refused: the workers never contended");
    }

    [Fact]
    public async Task WorkerPausedPastItsLease_DoesNotPublishAfterAnotherTookOver()
    {
        var source = await FlakySourceAsync(includeFlaky: false);
        var output = Path.Combine(_dir, "paused");
        string[] Arguments() => [.. Local(source, output), "--set", "lease_stale_seconds=2"];

        // Worker A stops itself (SIGSTOP) with its data file written and its ledger not yet committed.
        using var paused = VideoDataCli.Start(new Dictionary<string, string?> { ["VIDEODATA_CRASH_AT"] = CrashPoints.DataFileWritten, ["VIDEODATA_CRASH_SIGNAL"] = "STOP" }, Arguments());
        var pausedOut = paused.StandardOutput.ReadToEndAsync();
        var pausedErr = paused.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (ProcessState(paused.Id) != 'T')
        {
            Assert.True(DateTime.UtcNow < deadline && !paused.HasExited, "worker A never reached its pause point");
            await Task.Delay(50);
        }

        // Worker B finds A's lease, waits for it to go stale, takes it over and publishes.
        var b = await VideoDataCli.RunAsync(null, Arguments());
        Assert.True(b.ExitCode == 0, b.Stderr);
        Assert.Contains("took over the lease", b.Stdout + b.Stderr, StringComparison.Ordinal);
        var published = await File.ReadAllTextAsync(Path.Combine(output, "ledger", "shard-00000.json"));

        // A resumes: it must find out it lost the lease and publish nothing.
        Assert.Equal(0, SendSignal(paused.Id, SigCont));
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            await paused.WaitForExitAsync(limit.Token);
        }

        var aLog = await pausedOut + await pausedErr;
        Assert.True(paused.ExitCode == 0, aLog);
        Assert.Contains("lost the lease", aLog, StringComparison.Ordinal);
        Assert.Equal(published, await File.ReadAllTextAsync(Path.Combine(output, "ledger", "shard-00000.json")));
        Assert.NotEqual(paused.Id, ProcessIdOf(await LedgerAsync(output)));
        AssertPairResult(output, 0);
    }

    // ---- status of a real run ------------------------------------------------------------------------------------------

    [Fact]
    public async Task Status_OfARealRunPausedThenKilled_ShowsItsLeaseAndCommittedSegment_ThenTheTakeOverPublishes()
    {
        var source = await FlakySourceAsync(includeFlaky: false);
        var output = Path.Combine(_dir, "status");
        string[] Arguments() => [.. Local(source, output), "--set", "segment_videos=1", "--set", "lease_stale_seconds=3"];

        // A real worker pauses itself (SIGSTOP) right after committing its first one-video segment, holding the shard's lease.
        using var worker = VideoDataCli.Start(new Dictionary<string, string?> { ["VIDEODATA_CRASH_AT"] = CrashPoints.SegmentCommitted, ["VIDEODATA_CRASH_SIGNAL"] = "STOP" }, Arguments());
        var workerOut = worker.StandardOutput.ReadToEndAsync();
        var workerErr = worker.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (ProcessState(worker.Id) != 'T')
        {
            Assert.True(DateTime.UtcNow < deadline && !worker.HasExited, "the worker never reached its pause point");
            await Task.Delay(50);
        }

        using var resolver = new VideoData.Storage.Blobs.BlobStoreResolver(new VideoData.Storage.Blobs.BlobStoreOptions());
        var store = VideoData.Pipeline.Status.JobFiles.OpenOutput(resolver, output);
        var lease = VideoData.Pipeline.Status.ShardLease.Parse(await File.ReadAllBytesAsync(Path.Combine(output, "leases", "shard-00000.json")), "lease");
        Assert.Contains($"-{worker.Id}-", lease.Worker, StringComparison.Ordinal);

        // While its heartbeat is fresh: one shard running under that worker, one video committed in a segment, one pending.
        var running = await VideoData.Pipeline.Status.JobStatusReader.ReadAsync(store, new VideoData.Pipeline.Status.JobStatusOptions { Time = new VideoData.Pipeline.Tests.Status.FixedTime(lease.HeartbeatAt.AddSeconds(1)) });
        Assert.Equal(new VideoData.Pipeline.Status.ShardCounts(1, 0, 1, 0, 0, 0), running.Shards);
        Assert.Equal((2, 1, 0, 1), (running.Videos.Planned, running.Videos.Done, running.Videos.Failed, running.Videos.Pending));
        var shard = Assert.Single(running.ShardList);
        Assert.Equal((VideoData.Pipeline.Status.ShardStates.Running, lease.Worker), (shard.State, shard.Worker));
        Assert.Empty(running.Problems);

        // Killed, its lease goes stale: `videodata status` names the shard held by a dead worker.
        Assert.Equal(0, SendSignal(worker.Id, 9));
        await worker.WaitForExitAsync();
        _ = await workerOut + await workerErr;
        while (!lease.IsStaleAt(DateTimeOffset.UtcNow))
        {
            await Task.Delay(200);
        }

        var stale = await VideoDataCli.RunAsync(null, ["status", output, "--json"]);
        Assert.True(stale.ExitCode == 0, stale.Stderr);
        var staleStatus = VideoData.Pipeline.Status.JobStatusText.FromJson(stale.Stdout);
        Assert.Equal(new VideoData.Pipeline.Status.ShardCounts(1, 0, 1, 1, 0, 0), staleStatus.Shards);
        Assert.Equal(VideoData.Pipeline.Status.ShardStates.Stale, Assert.Single(staleStatus.ShardList).State);
        Assert.Equal(1, staleStatus.Videos.Done);

        // The next worker takes the stale lease over and publishes; status then shows the job done, nothing pending.
        var rerun = await VideoDataCli.RunAsync(null, Arguments());
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Contains("took over the lease", rerun.Stdout + rerun.Stderr, StringComparison.Ordinal);
        var done = await VideoDataCli.RunAsync(null, ["status", output, "--json"]);
        Assert.True(done.ExitCode == 0, done.Stderr);
        var doneStatus = VideoData.Pipeline.Status.JobStatusText.FromJson(done.Stdout);
        Assert.Equal(new VideoData.Pipeline.Status.ShardCounts(1, 1, 0, 0, 0, 0), doneStatus.Shards);
        Assert.Equal((2, 2, 0, 0), (doneStatus.Videos.Planned, doneStatus.Videos.Done, doneStatus.Videos.Failed, doneStatus.Videos.Pending));
        Assert.Empty(doneStatus.Problems);
        AssertPairResult(output, 0);
    }

    // ---- disk full ----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task DiskFull_ClearErrorNamingThePath_NothingPartialPublished_RerunCompletesOnceSpaceIsBack()
    {
        var source = await FlakySourceAsync(includeFlaky: false);
        var mount = Path.Combine(_dir, "small");
        Directory.CreateDirectory(mount);
        if (!TryMountTmpfs(mount, "2m", out var why))
        {
            // Not root (or no mount namespace): the test cannot make a small file system here, and says so in its output.
            Console.WriteLine($"DiskFull test: cannot mount a tmpfs ({why}); skipped. Run the suite as root to include it.");
            return;
        }

        try
        {
            // Fill the file system but for a few pages: enough for the plan and the lease, not for the work.
            var filler = Path.Combine(mount, "filler");
            await using (var fill = File.Create(filler))
            {
                // Real bytes, not a sparse file: tmpfs counts only the pages written.
                var left = Math.Max(0, new DriveInfo(mount).AvailableFreeSpace - (8 * 1024));
                var chunk = new byte[64 * 1024];
                while (left > 0)
                {
                    var n = (int)Math.Min(chunk.Length, left);
                    await fill.WriteAsync(chunk.AsMemory(0, n));
                    left -= n;
                }
            }

            var output = Path.Combine(mount, "out");
            var full = await VideoDataCli.RunAsync(null, AfterCrash(Local(source, output)));
            Assert.NotEqual(0, full.ExitCode);
            Assert.Contains("No space left on device", full.Stderr, StringComparison.Ordinal);
            Assert.Contains(output, full.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(output, "ledger", "shard-00000.json")), "a ledger was published on a full disk");
            Assert.Empty(Directory.Exists(Path.Combine(output, "shards")) ? Directory.GetFiles(Path.Combine(output, "shards"), "*.parquet") : []);

            // Space comes back: the same command completes the job.
            File.Delete(filler);
            await RunOkAsync(AfterCrash(Local(source, output)));
            AssertPairResult(output, 0);
        }
        finally
        {
            Unmount(mount);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------------

    /// <summary>A source folder with two good 2-second videos and, in the manifest, "flaky" whose file does not exist yet.</summary>
    private async Task<string> FlakySourceAsync(bool includeFlaky = true)
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var source = Path.Combine(_dir, "source-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(source, "videos"));
        foreach (var id in new[] { "demo000", "demo002", "demo003" })
        {
            File.Copy(Path.Combine(corpus.Folder, "videos", id + ".mp4"), Path.Combine(source, "videos", id + ".mp4"));
        }

        var manifest = "video_id,uri,caption_uri\ndemo000,videos/demo000.mp4,\ndemo002,videos/demo002.mp4,\n" + (includeFlaky ? "flaky,videos/flaky.mp4,\n" : "");
        await File.WriteAllTextAsync(Path.Combine(source, "manifest.csv"), manifest);
        return source;
    }

    private static string[] Common(string manifest) =>
    [
        "preprocess", "--manifest", manifest, "--progress", "json",
        "--set", "shard_size=4", "--set", "decode.fps=16", "--set", "decode.size=112", "--set", "decode.decoder=cpu", "--set", "decode.threads=1",
        "--set", "encoder.seconds_per_batch=4", "--set", "stages.decode_parallelism=2", "--set", "stages.decoded_seconds_capacity=8",
        "--set", "segment_videos=2",
    ];

    /// <summary>
    /// For runs that follow a killed one: a dead worker's lease blocks its shard until the heartbeat is stale (120 s by
    /// default). These tests run one worker at a time (the killed one has exited before the next starts), so nobody can take
    /// a live worker's lease over and the shortest allowed staleness, 2 s, only ends the wait for the dead one: the rerun
    /// (which takes longer than that to start) takes the lease over at once instead of idling up to 8 s per rerun.
    /// </summary>
    private static string[] AfterCrash(string[] arguments) => [.. arguments, "--set", "lease_stale_seconds=2"];


    private static string[] Local(string source, string output) => [.. Common(Path.Combine(source, "manifest.csv")), "--output", output];

    private static string[] S3(string source, string bucket, string prefix, FaultInjectingProxy proxy) =>
    [
        .. Common(Path.Combine(source, "manifest.csv")), "--output", $"s3://{bucket}/{prefix}",
        "--set", $"s3.endpoint_url=\"{proxy.Endpoint}\"", "--set", "s3.force_path_style=true", "--set", "s3.use_chunk_encoding=false", "--set", "s3.checksum_mode=when_required",
    ];

    private static Dictionary<string, string?> S3Environment() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey,
        ["AWS_REGION"] = "us-east-1",
    };

    private static Dictionary<string, string?> Crash(string step, Dictionary<string, string?>? environment = null) =>
        new(environment ?? []) { ["VIDEODATA_CRASH_AT"] = step };

    private static async Task RunOkAsync(string[] arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var run = await VideoDataCli.RunAsync(environment, arguments);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}\n{run.Stdout}");
    }

    private async Task<PreprocessSummary> RunInProcessAsync(string manifest, string output, params string[] extra) =>
        // max_retries 0: the corpus's broken videos are settled after one try, so a rerun has only what the test changed to do.
        await Preprocessor.RunAsync(PipelineCorpus.Definition(manifest, output, ["max_retries=0", .. extra]), WorkerSlot.Single, retryFailed: false, new PipelineProgress(), _ => { });

    private string CopyOutput(string from, string name)
    {
        var to = Path.Combine(_dir, name);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return to;
    }

    private static async Task<List<ShardLedger>> LedgerAsync(string output)
    {
        var ledgers = new List<ShardLedger>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(output, "ledger"), "*.json").Order(StringComparer.Ordinal))
        {
            ledgers.Add(JsonSerializer.Deserialize<ShardLedger>(await File.ReadAllTextAsync(file), ShardLedger.JsonOptions)!);
        }

        return ledgers;
    }

    private static string Entry(List<ShardLedger> ledgers, string id) =>
        ledgers.SelectMany(l => l.Videos).Where(v => v.VideoId == id).Select(v => $"{v.VideoId} {v.Status} {v.FailureClass} {v.Attempts}").Single();

    private static string Summary(List<ShardLedger> ledgers) =>
        string.Join('\n', ledgers.SelectMany(l => l.Videos.Select(v => $"{l.ShardId} {v.VideoId} {v.Status} {v.FailureClass} {v.Attempts} {v.Seconds}")));

    /// <summary>I2 at any instant: every ledger names an existing data file holding exactly the videos it lists as done.</summary>
    private static void AssertLedgerFollowersConsistent(string output, string step)
    {
        if (!Directory.Exists(Path.Combine(output, "ledger")))
        {
            return;
        }

        foreach (var ledger in LedgerAsync(output).GetAwaiter().GetResult())
        {
            var data = Path.Combine(output, ledger.DataFile!);
            Assert.True(File.Exists(data), $"{step}: the ledger of shard {ledger.ShardId} names {ledger.DataFile}, which does not exist");
            var ids = PipelineCorpus.ReadShardsAsync(Path.GetDirectoryName(data)!, Path.GetFileName(data)).GetAwaiter().GetResult().Keys.Order(StringComparer.Ordinal);
            Assert.Equal(ledger.Done.Select(e => e.VideoId).Order(StringComparer.Ordinal), ids);
        }
    }

    /// <summary>I2b and I5 after a completed run: one data file per shard, stats, no work, no temporary files, no leases.</summary>
    private static void AssertNothingLeftBehind(string output, string step)
    {
        var ledgers = LedgerAsync(output).GetAwaiter().GetResult();
        Assert.Equal(ledgers.Select(l => Path.GetFileName(l.DataFile!)).Order(StringComparer.Ordinal), Directory.GetFiles(Path.Combine(output, "shards"), "*.parquet").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.All(ledgers, l => Assert.True(File.Exists(Path.Combine(output, "stats", $"{ShardLedger.ShardName(l.ShardId)}_stats.json")), $"{step}: stats of shard {l.ShardId} missing"));
        Assert.False(Directory.Exists(Path.Combine(output, "_work")), $"{step}: _work left behind: {string.Join(", ", Directory.Exists(Path.Combine(output, "_work")) ? Directory.EnumerateFileSystemEntries(Path.Combine(output, "_work"), "*", SearchOption.AllDirectories) : [])}");
        Assert.Empty(Directory.EnumerateFiles(output, ".videodata-tmp-*", SearchOption.AllDirectories));
        Assert.Empty(Directory.Exists(Path.Combine(output, "leases")) ? Directory.GetFiles(Path.Combine(output, "leases"), "*.json") : []);
    }

    private static void AssertEachVideoOnce(string output, IEnumerable<string> expected)
    {
        var records = PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards")).GetAwaiter().GetResult(); // throws on a duplicate row
        Assert.Equal(expected.Order(StringComparer.Ordinal), records.Keys.Order(StringComparer.Ordinal));
        var ledgerIds = LedgerAsync(output).GetAwaiter().GetResult().SelectMany(l => l.Videos).Select(v => v.VideoId).ToList();
        Assert.Equal(ledgerIds.Count, ledgerIds.Distinct().Count());
    }

    private static void AssertPairResult(string output, int trial)
    {
        var ledger = Assert.Single(LedgerAsync(output).GetAwaiter().GetResult());
        Assert.Equal(["demo000", "demo002"], ledger.Done.Select(e => e.VideoId).Order(StringComparer.Ordinal));
        var records = PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards")).GetAwaiter().GetResult();
        Assert.Equal(["demo000", "demo002"], records.Keys.Order(StringComparer.Ordinal));
        AssertNothingLeftBehind(output, $"trial {trial}");
    }

    private static async Task<(VideoDataCli.Result A, VideoDataCli.Result B)> RunPairAsync(int offsetMs, Func<string[]> arguments, IReadOnlyDictionary<string, string?>? environment)
    {
        var a = VideoDataCli.RunAsync(environment, arguments());
        await Task.Delay(offsetMs);
        var b = VideoDataCli.RunAsync(environment, arguments());
        return (await a, await b);
    }

    private static int ProcessIdOf(List<ShardLedger> ledgers) => int.Parse(ledgers.Single().Worker!.Split('-')[^2], System.Globalization.CultureInfo.InvariantCulture);

    private async Task CopyPrefixAsync(string bucket, string from, string to)
    {
        var listing = await _s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = from });
        foreach (var item in listing.S3Objects ?? [])
        {
            // Read and write back: s3rver 3.7.1 misreads the SDK's copy source ("bucket does not exist").
            using var response = await _s3.Client.GetObjectAsync(bucket, item.Key);
            using var copy = new MemoryStream();
            await response.ResponseStream.CopyToAsync(copy);
            copy.Position = 0;
            await _s3.Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = to + item.Key[from.Length..], InputStream = copy, UseChunkEncoding = false });
        }
    }

    private async Task<string> DownloadAsync(string bucket, string prefix)
    {
        var folder = Path.Combine(_dir, "download-" + Guid.NewGuid().ToString("N")[..8]);
        var listing = await _s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix });
        foreach (var item in listing.S3Objects ?? [])
        {
            var path = Path.Combine(folder, item.Key[prefix.Length..]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var response = await _s3.Client.GetObjectAsync(bucket, item.Key);
            await using var file = File.Create(path);
            await response.ResponseStream.CopyToAsync(file);
        }

        Directory.CreateDirectory(Path.Combine(folder, "shards"));
        return folder;
    }

    /// <summary>Runs the program with SIGINT and SIGTERM at their default actions (a test runner's child may inherit them ignored).</summary>
    private static async Task<VideoDataCli.Result> RunWithDefaultSignalsAsync(IReadOnlyDictionary<string, string?> environment, string[] arguments)
    {
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["--default-signal=INT,TERM", "dotnet", "exec", Path.Combine(AppContext.BaseDirectory, "videodata.dll"), .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in new[] { "VIDEODATA_S3_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX" })
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(limit.Token);
        return new VideoDataCli.Result(process.ExitCode, await stdout, await stderr);
    }

    private static char ProcessState(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException)
        {
            return '?';
        }
    }

    private static bool TryMountTmpfs(string path, string size, out string why) => Mount(["-t", "tmpfs", "-o", $"size={size}", "tmpfs", path], out why);

    private static void Unmount(string path)
    {
        using var umount = Process.Start(new ProcessStartInfo("umount", [path]) { RedirectStandardError = true, UseShellExecute = false })!;
        umount.WaitForExit();
    }

    private static bool Mount(string[] arguments, out string why)
    {
        try
        {
            using var mount = Process.Start(new ProcessStartInfo("mount", arguments) { RedirectStandardError = true, UseShellExecute = false })!;
            var error = mount.StandardError.ReadToEnd();
            mount.WaitForExit();
            why = $"mount exited {mount.ExitCode}: {error.Trim()}";
            return mount.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            why = ex.Message;
            return false;
        }
    }

    private const int SigCont = 18;

#pragma warning disable SYSLIB1054 // two ints, nothing to marshal; LibraryImport would need unsafe code here
    [DllImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
#pragma warning restore SYSLIB1054
}

using System.Globalization;
using System.Text.Json;
using Amazon.S3.Model;
using VideoData.Pipeline.Ledger;
using VideoData.Pipeline.Tests.Run;
using VideoData.Testing;
using VideoData.Testing.S3;
using VideoData.Testing.Slurm;

namespace VideoData.Pipeline.Tests.Slurm;

/// <summary>
/// The shipped Slurm script on a real single-node cluster (infra/slurm/local-cluster.sh): a 4-task array over a
/// corpus on S3 (s3rver) with one task requeued mid-run and another cancelled and resubmitted must give exactly the
/// outputs of one process; and <c>srun</c> launches ranks that read their slot from Slurm.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class SlurmClusterTests : IClassFixture<SlurmClusterFixture>, IClassFixture<S3ServerFixture>, IDisposable
{
    private static readonly TimeSpan s_jobsTimeout = TimeSpan.FromMinutes(15);
    private readonly SlurmClusterFixture _slurm;
    private readonly S3ServerFixture _s3;
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-slurm-jobs-").FullName;

    public SlurmClusterTests(SlurmClusterFixture slurm, S3ServerFixture s3) => (_slurm, _s3) = (slurm, s3);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The tool the jobs run: the build beside the tests (the sbatch script takes it from $VIDEODATA).</summary>
    private static string Tool => Path.Combine(AppContext.BaseDirectory, "videodata");

    [Fact]
    public async Task Sbatch_ArrayOfFourWithARequeueAndACancelledTaskResubmitted_SameShardsAndLedgersAsOneProcess()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var bucket = await _s3.CreateBucketAsync("slurm");
        var manifest = await PipelineCorpus.UploadAsync(_s3.Client, bucket, corpus);
        // 9 videos, 2 per shard: 5 shards, so every one of the 4 workers has work (worker 0 has shards 0 and 4).
        var pipeline = Path.Combine(_dir, "pipeline.json");
        await File.WriteAllTextAsync(pipeline, $$"""
            {
              "name": "slurm-test",
              "manifest": "{{manifest}}",
              "shard_size": 2,
              "decode": { "fps": 16, "size": 112, "decoder": "cpu", "threads": 1 },
              "encoder": { "device": "cpu", "seconds_per_batch": 4 },
              "stages": { "decode_parallelism": 1, "decoded_seconds_capacity": 8, "encoded_videos_capacity": 4 },
              "s3": { "endpoint_url": "{{_s3.Endpoint}}", "force_path_style": true, "use_chunk_encoding": false, "checksum_mode": "when_required" }
            }
            """);
        var credentials = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey };

        var single = await VideoDataCli.RunAsync(credentials, ["preprocess", "--pipeline", pipeline, "--output", $"s3://{bucket}/single", "--progress", "json"], TimeSpan.FromMinutes(10));
        Assert.True(single.ExitCode == 0, single.Stderr);

        // The shipped script, unchanged; the options sized for this machine's one node override its #SBATCH lines.
        var jobEnvironment = new Dictionary<string, string?>(credentials) { ["VIDEODATA"] = Tool };
        var script = Path.Combine(RepoPaths.Root, "infra", "slurm", "preprocess.sbatch");
        string[] resources = ["--cpus-per-task=1", "--mem=2G", "--time=30"];
        var output = $"s3://{bucket}/slurm";
        var array = await SubmitAsync(["--array=0-3", .. resources, script, pipeline, output], jobEnvironment);

        // Task 1 is requeued while it runs: Slurm kills it and starts it again (its output must not change).
        await WaitForStateAsync($"{array}_1", "RUNNING");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("RUNNING", (await _slurm.CheckAsync("squeue", "-h", "-r", "-j", $"{array}_1", "-o", "%T")).Trim());
        await _slurm.CheckAsync("scontrol", "requeue", $"{array}_1");
        // Slurm holds a requeued batch job back for two minutes (BeginTime); let it start as soon as a CPU is free.
        await _slurm.CheckAsync("scontrol", "update", $"JobId={array}_1", "StartTime=now");

        // Task 2 is cancelled once it runs, and its worker slot resubmitted as a job of its own.
        await WaitForStateAsync($"{array}_2", "RUNNING");
        await Task.Delay(TimeSpan.FromSeconds(2));
        await _slurm.CheckAsync("scancel", $"{array}_2");
        var resubmitted = await SubmitAsync([.. resources, script, pipeline, output, "--shard-index", "2", "--shard-count", "4"], jobEnvironment);

        await WaitUntilGoneAsync(array, resubmitted);
        var tasks = await JobRecordsAsync(array);
        string Describe() => string.Join('\n', tasks.Select(t => string.Join(' ', t))) + "\n" + Logs() + _slurm.DaemonLogs();
        Assert.True(tasks.Count == 4, Describe());
        foreach (var task in new[] { "0", "1", "3" })
        {
            var record = Assert.Single(tasks, t => t["ArrayTaskId"] == task);
            Assert.True(record["JobState"] == "COMPLETED" && record["ExitCode"] == "0:0", $"array task {task}:\n{Describe()}");
        }

        Assert.Equal("1", Assert.Single(tasks, t => t["ArrayTaskId"] == "1")["Restarts"]);
        Assert.Equal("CANCELLED", Assert.Single(tasks, t => t["ArrayTaskId"] == "2")["JobState"]);
        var again = Assert.Single(await JobRecordsAsync(resubmitted));
        Assert.True(again["JobState"] == "COMPLETED" && again["ExitCode"] == "0:0", Describe());
        // The requeued task's log is its second run's (Slurm truncates it on restart), and it says so.
        Assert.Contains("restart 1", File.ReadAllText(Path.Combine(_dir, $"videodata-preprocess-{array}_1.log")), StringComparison.Ordinal);

        // Every video exactly once, with the same outcome and the same features as the one-process run.
        var expected = await PipelineCorpus.ReadShardsAsync(await DownloadAsync(bucket, "single/shards/"));
        var actual = await PipelineCorpus.ReadShardsAsync(await DownloadAsync(bucket, "slurm/shards/"));
        PipelineCorpus.AssertSameContent(expected, actual);
        var expectedLedgers = await LedgersAsync(bucket, "single/ledger/");
        var actualLedgers = await LedgersAsync(bucket, "slurm/ledger/");
        Assert.Equal(5, actualLedgers.Count);
        Assert.Equal(expectedLedgers.Select(l => l.ShardId), actualLedgers.Select(l => l.ShardId));
        var entries = actualLedgers.SelectMany(l => l.Videos).ToList();
        Assert.Equal(corpus.Videos, entries.Count);
        Assert.Equal(corpus.Videos, entries.Select(e => e.VideoId).Distinct().Count());
        static string Outcome(LedgerEntry e) => $"{e.VideoId} {e.Status} {e.FailureClass} {e.Seconds}";
        Assert.Equal(
            expectedLedgers.SelectMany(l => l.Videos).Select(Outcome).Order(StringComparer.Ordinal),
            entries.Select(Outcome).Order(StringComparer.Ordinal));
        Assert.Equal(PipelineCorpus.ExpectedFailures.Keys.Order(StringComparer.Ordinal), entries.Where(e => !e.IsDone).Select(e => e.VideoId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Srun_TwoTasksTrainDataOnly_RanksFromSlurmTogetherStreamTheOneProcessBatches()
    {
        var config = Path.Combine(RepoPaths.Root, "pipelines", "videoclip-tiny.json");
        string[] common = ["train", "--config", config, "--data-only", "--epochs", "1", "--output", Path.Combine(_dir, "train-out")];

        var one = await VideoDataCli.RunAsync(null, [.. common, "--digests", Path.Combine(_dir, "one-{rank}.jsonl")], TimeSpan.FromMinutes(5));
        Assert.True(one.ExitCode == 0, one.Stdout + one.Stderr);

        // srun starts both tasks; each finds its rank in SLURM_PROCID / SLURM_NTASKS.
        var (code, stdout, stderr) = await _slurm.RunAsync(
            "srun", ["--ntasks=2", "--cpus-per-task=1", "--mem-per-cpu=1G", "--time=10", "--kill-on-bad-exit=1", Tool, .. common, "--digests", Path.Combine(_dir, "srun-{rank}.jsonl")],
            workingDirectory: _dir, timeout: TimeSpan.FromMinutes(10));
        Assert.True(code == 0, stdout + stderr + _slurm.DaemonLogs());
        foreach (var rank in new[] { 0, 1 })
        {
            Assert.Contains($"rank {rank} of 2 (from SLURM_PROCID/SLURM_NTASKS)", stdout, StringComparison.Ordinal);
        }

        // videoclip-tiny: 192 synthetic training videos (its 64 held-out ones come on top), batches of 16: 12 plan batches, 6 per rank.
        static List<JsonElement> Read(string path) => File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        static string Key(JsonElement e) => $"{e.GetProperty("epoch").GetInt32()}/{e.GetProperty("plan_batch").GetInt32():D4}";
        static string Value(JsonElement e) => $"{e.GetProperty("sha256").GetString()} {e.GetProperty("video_ids")}";
        var single = Read(Path.Combine(_dir, "one-0.jsonl"));
        var ranks = new[] { 0, 1 }.Select(r => Read(Path.Combine(_dir, $"srun-{r}.jsonl"))).ToList();
        Assert.Equal(12, single.Count);
        Assert.All(ranks, r => Assert.Equal(6, r.Count));
        for (var rank = 0; rank < 2; rank++)
        {
            Assert.All(ranks[rank], e => Assert.Equal(rank, e.GetProperty("rank").GetInt32()));
            Assert.All(ranks[rank], e => Assert.Equal(rank, e.GetProperty("plan_batch").GetInt32() % 2));
        }

        var union = ranks.SelectMany(r => r).OrderBy(Key, StringComparer.Ordinal).ToList();
        var whole = single.OrderBy(Key, StringComparer.Ordinal).ToList();
        Assert.Equal(whole.Select(Key), union.Select(Key));
        Assert.Equal(whole.Select(Value), union.Select(Value));
    }

    private async Task<string> SubmitAsync(string[] arguments, IReadOnlyDictionary<string, string?> environment)
    {
        var (code, stdout, stderr) = await _slurm.RunAsync("sbatch", ["--parsable", .. arguments], _dir, environment);
        Assert.True(code == 0, $"sbatch {string.Join(' ', arguments)}: {stdout}{stderr}");
        return stdout.Trim().Split(';')[0];
    }

    /// <summary>Waits until the job (or array task, JOB_TASK) is in <paramref name="state"/>; fails if it ends first.</summary>
    private async Task WaitForStateAsync(string job, string state)
    {
        var deadline = DateTime.UtcNow + s_jobsTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var now = (await _slurm.CheckAsync("squeue", "-h", "-r", "-j", job, "-o", "%T")).Trim();
            if (now == state)
            {
                return;
            }

            Assert.False(now.Length == 0, $"{job} finished before it was seen {state}:\n{Logs()}");
            await Task.Delay(200);
        }

        throw new TimeoutException($"{job} was not {state} within {s_jobsTimeout}:\n{Logs()}{_slurm.DaemonLogs()}");
    }

    private async Task WaitUntilGoneAsync(params string[] jobs)
    {
        var deadline = DateTime.UtcNow + s_jobsTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if ((await _slurm.CheckAsync("squeue", "-h", "-r", "-j", string.Join(',', jobs), "-o", "%i %T")).Trim().Length == 0)
            {
                return;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"jobs {string.Join(", ", jobs)} did not finish within {s_jobsTimeout}:\n{Logs()}{_slurm.DaemonLogs()}");
    }

    /// <summary>scontrol's record of a finished job, one dictionary per job or array task (kept MinJobAge = 300 s).</summary>
    private async Task<List<Dictionary<string, string>>> JobRecordsAsync(string job)
    {
        var text = await _slurm.CheckAsync("scontrol", "-o", "show", "job", job);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(field => field.Split('=', 2))
                .Where(pair => pair.Length == 2)
                .GroupBy(pair => pair[0], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.First()[1], StringComparer.Ordinal))
            .ToList();
    }

    private string Logs() =>
        string.Join('\n', Directory.EnumerateFiles(_dir, "*.log").Order(StringComparer.Ordinal).Select(f => $"--- {Path.GetFileName(f)}\n{string.Join('\n', File.ReadLines(f).TakeLast(20))}"));

    private async Task<List<ShardLedger>> LedgersAsync(string bucket, string prefix)
    {
        var folder = await DownloadAsync(bucket, prefix);
        return Directory.EnumerateFiles(folder, "*.json")
            .Select(f => JsonSerializer.Deserialize<ShardLedger>(File.ReadAllText(f), ShardLedger.JsonOptions)!)
            .OrderBy(l => l.ShardId)
            .ToList();
    }

    private async Task<string> DownloadAsync(string bucket, string prefix)
    {
        var folder = Path.Combine(_dir, "download-" + prefix.Replace('/', '-').TrimEnd('-'));
        Directory.CreateDirectory(folder);
        var listing = await _s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix });
        foreach (var item in listing.S3Objects ?? [])
        {
            using var response = await _s3.Client.GetObjectAsync(bucket, item.Key);
            await using var file = File.Create(Path.Combine(folder, Path.GetFileName(item.Key)));
            await response.ResponseStream.CopyToAsync(file);
        }

        return folder;
    }
}

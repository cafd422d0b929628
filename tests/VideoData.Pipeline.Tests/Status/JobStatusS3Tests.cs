using System.Diagnostics;
using VideoData.Core.Failures;
using VideoData.Pipeline.Status;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;
using VideoData.Testing;
using VideoData.Testing.S3;
using Xunit.Abstractions;

namespace VideoData.Pipeline.Tests.Status;

/// <summary><c>videodata status</c> over a real S3 server (s3rver on loopback) holding the small files of a 300-shard job.</summary>
public sealed class JobStatusS3Tests(S3ServerFixture server, ITestOutputHelper output) : IClassFixture<S3ServerFixture>
{
    private const int Shards = 300;
    private const int Leased = 12;

    [Fact]
    public async Task Status_300LedgersOnS3_CostsOneListingPerPrefixAndTwoRequestsPerSmallFile_AndTheCliAgrees()
    {
        var bucket = await server.CreateBucketAsync("status");
        var options = S3StoreOptions.ForCompatibleServer(server.Endpoint);
        options.Credentials = S3ServerFixture.Credentials;
        var now = DateTimeOffset.UtcNow;
        using (var writer = new BlobStoreResolver(new BlobStoreOptions { S3 = options }))
        {
            var store = JobFiles.OpenOutput(writer, $"s3://{bucket}/job/features");
            await HandBuiltJob.PlanAsync(store, Shards + 20, 20);
            await Parallel.ForEachAsync(Enumerable.Range(0, Shards), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, _) =>
            {
                var started = now.AddHours(-6).AddSeconds(id * 60);
                await HandBuiltJob.PublishedAsync(store, id, 20, id % 7 == 0 ? 2 : 0, $"w{id % 10}", started, started.AddSeconds(600));
            });
            for (var id = Shards; id < Shards + Leased; id++)
            {
                await HandBuiltJob.LeaseAsync(store, id, $"w{id % 10}", now.AddMinutes(-5), id == Shards ? now.AddHours(-1) : now);
                await HandBuiltJob.WorkAsync(store, id, 3, [($"w{id}x", FailureClass.Timeout, $"s3://corpus/w{id}x.mp4: decode timed out after 60 s")]);
            }
        }

        // A fresh resolver, as a new `videodata status` process would have: its counters hold only the status requests.
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
        var clock = Stopwatch.StartNew();
        var status = await JobStatusReader.ReadAsync(JobFiles.OpenOutput(resolver, $"s3://{bucket}/job/features"));
        var seconds = clock.Elapsed.TotalSeconds;

        var smallFiles = 1 + Shards + Shards + Leased + Leased; // plan, ledgers, stats, leases, one work segment record per leased shard
        var listings = 4; // ledger/, stats/, leases/, _work/: each under 1000 keys, one page
        var requests = resolver.Counters.Requests;
        output.WriteLine($"status of {Shards} shards on s3rver: {requests} requests (bound {listings + 2 * smallFiles}), {resolver.Counters.BytesRead} bytes, {seconds:F2} s in-process");
        Assert.Equal(requests, status.Requests);
        Assert.True(requests <= listings + 2 * smallFiles, $"status made {requests} requests for {listings} listings and {smallFiles} small files");
        Assert.True(requests >= listings + smallFiles, $"status made {requests} requests: fewer than one per small file, so it did not read them all");

        Assert.Equal(new ShardCounts(Shards + 20, Shards, Leased, 1, 0, 20 - Leased), status.Shards);
        // 43 of the 300 published shards (ids divisible by 7) have 2 failures; each leased shard has 3 committed videos and 1 failure.
        Assert.Equal(new VideoCounts(6400, 5914 + 36, 86 + 12, 6400 - 5950 - 98, status.Videos.SecondsOfVideo), status.Videos);
        Assert.Equal(10, status.Workers.Count);
        Assert.Empty(status.Problems);

        // The real command, as an operator runs it, gives the same figures.
        var environment = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey, ["AWS_REGION"] = "us-east-1" };
        clock.Restart();
        var cli = await VideoDataCli.RunAsync(environment, ["status", $"s3://{bucket}/job/features", "--json", "--s3-endpoint", server.Endpoint.ToString(), "--s3-path-style", "true", "--s3-chunk-encoding", "false", "--s3-checksum", "when_required"]);
        output.WriteLine($"videodata status --json: exit {cli.ExitCode} in {clock.Elapsed.TotalSeconds:F2} s (process start-up included)");
        Assert.True(cli.ExitCode == 0, cli.Stderr);
        var fromCli = JobStatusText.FromJson(cli.Stdout);
        Assert.Equal(status.Shards, fromCli.Shards);
        Assert.Equal(status.Videos, fromCli.Videos);
        Assert.Equal(status.Requests, fromCli.Requests);
    }
}

// Driver for infra/bench/train.sh.
//   TrainBench corpus  DIR VIDEOS MIN_SECONDS MAX_SECONDS VIDEOS_PER_SHARD   feature shards + the same data as .npy for the Python peer
//   TrainBench stream  DIR EPOCHS BATCH_VIDEOS CLIPS ASSEMBLERS PREFETCH [READERS_PER_SHARD]  batches/s per epoch (epoch 0 cold from the shards) and read amplification
//   TrainBench tiny    CONFIG OUTPUT                                          the tiny trainer; data-wait share of step time
//   TrainBench read    DIR REPEATS                                            shard decode throughput, ours vs Parquet.Net's column reader: every row group of every shard, REPEATS times
//   TrainBench allreduce TOTAL_MIB REPEATS                                    under mpirun: time to all-reduce TOTAL_MIB of floats in buckets of 1..64 MiB
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;
using VideoData.Training.Trainer;

return args.FirstOrDefault() switch
{
    "corpus" => await CorpusAsync(args[1], Int(args[2]), Int(args[3]), Int(args[4]), Int(args[5])),
    "stream" => await StreamAsync(args[1], Int(args[2]), Int(args[3]), Int(args[4]), Int(args[5]), Int(args[6]), args.Length > 7 ? Int(args[7]) : 2),
    "tiny" => await TinyAsync(args[1], args[2]),
    "read" => await ReadAsync(args[1], Int(args[2])),
    "allreduce" => AllReduce(Int(args[1]), Int(args[2])),
    _ => Usage(),
};

static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

// Sums TOTAL_MIB of floats across the ranks one bucket at a time, as GradientBuckets does, for several bucket sizes:
// the per-call cost shows as the gap between small and large buckets. Rank 0 prints one RESULT line per size.
static int AllReduce(int totalMib, int repeats)
{
    using var collective = VideoData.Training.Distributed.Collectives.Open();
    var values = new float[(long)totalMib * (1 << 20) / sizeof(float)];
    values.AsSpan().Fill(1f);
    foreach (var bucketMib in new[] { 0.25, 1, 4, 16, 32, 64 })
    {
        var bucket = (int)(bucketMib * (1 << 20) / sizeof(float));
        var best = double.MaxValue;
        for (var r = 0; r < repeats; r++)
        {
            collective.Barrier();
            var clock = Stopwatch.StartNew();
            for (var start = 0; start < values.Length; start += bucket)
            {
                collective.AllReduceSum(values.AsSpan(start, Math.Min(bucket, values.Length - start)));
            }

            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        if (collective.Rank == 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT allreduce ranks={collective.WorldSize} total_mib={totalMib} bucket_mib={bucketMib} calls={(values.Length + bucket - 1) / bucket} best_s={best:F4} gib_per_s={totalMib / 1024.0 / best:F2}"));
        }
    }

    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: TrainBench corpus DIR VIDEOS MIN_S MAX_S PER_SHARD | stream DIR EPOCHS BATCH_VIDEOS CLIPS ASSEMBLERS PREFETCH | tiny CONFIG OUTPUT");
    return 2;
}

static async Task<int> CorpusAsync(string dir, int videos, int minSeconds, int maxSeconds, int perShard)
{
    var corpus = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = videos, MinSeconds = minSeconds, MaxSeconds = maxSeconds, Seed = 1 });
    var shards = Path.Combine(dir, "shards");
    var paths = await SyntheticShards.WriteAsync(corpus, shards, perShard);

    // The reference's layout for the peer: per shard, one float16 matrix of all feature rows plus offsets, and the
    // captions as start/end pairs and token ids padded with -1 (MMPT's ShardedTensor files hold the same).
    var numpy = Path.Combine(dir, "numpy");
    Directory.CreateDirectory(numpy);
    var ids = new List<string>();
    for (var s = 0; s < paths.Count; s++)
    {
        var part = corpus.Skip(s * perShard).Take(perShard).ToList();
        ids.AddRange(part.Select(v => v.VideoId));
        var rows = part.Sum(v => v.Seconds);
        var feats = new Half[(long)rows * 512];
        var offsets = new long[part.Count + 1];
        var segOffsets = new long[part.Count + 1];
        var segs = part.Sum(v => v.Segments.Count);
        var startEnds = new double[segs * 2];
        var capIds = new int[segs * 32];
        Array.Fill(capIds, -1);
        long row = 0, seg = 0;
        for (var i = 0; i < part.Count; i++)
        {
            var v = part[i];
            for (var k = 0; k < v.Features.Length; k++)
            {
                feats[(row * 512) + k] = (Half)v.Features[k];
            }

            row += v.Seconds;
            offsets[i + 1] = row;
            foreach (var segment in v.Segments)
            {
                startEnds[seg * 2] = segment.Start;
                startEnds[(seg * 2) + 1] = segment.End;
                segment.TokenIds.AsSpan(0, Math.Min(32, segment.TokenIds.Length)).CopyTo(capIds.AsSpan((int)seg * 32));
                seg++;
            }

            segOffsets[i + 1] = seg;
        }

        var name = $"shard-{s:D5}";
        Npy.Write(Path.Combine(numpy, $"{name}.feats.npy"), "<f2", [rows, 512], feats.AsSpan());
        Npy.Write(Path.Combine(numpy, $"{name}.offsets.npy"), "<i8", [part.Count + 1], offsets.AsSpan());
        Npy.Write(Path.Combine(numpy, $"{name}.seg_offsets.npy"), "<i8", [part.Count + 1], segOffsets.AsSpan());
        Npy.Write(Path.Combine(numpy, $"{name}.startends.npy"), "<f8", [segs, 2], startEnds.AsSpan());
        Npy.Write(Path.Combine(numpy, $"{name}.caps_ids.npy"), "<i4", [segs, 32], capIds.AsSpan());
    }

    File.WriteAllText(Path.Combine(numpy, "meta.json"), JsonSerializer.Serialize(new { shards = paths.Count, videos_per_shard = perShard, ids }));
    var bytes = paths.Sum(p => new FileInfo(p).Length);
    Console.WriteLine($"corpus: {videos} videos, {corpus.Sum(v => v.Seconds)} feature seconds, {paths.Count} shards, {bytes / 1e6:F1} MB of Parquet");
    return 0;
}

static async Task<int> StreamAsync(string dir, int epochs, int batchVideos, int clips, int assemblers, int prefetch, int readersPerShard)
{
    using var resolver = new BlobStoreResolver(new BlobStoreOptions());
    var (blobs, key) = resolver.Resolve(new Uri(Path.GetFullPath(Path.Combine(dir, "shards")) + "/").AbsoluteUri);
    await using var store = await FeatureShardVideoStore.OpenAsync(blobs, key, new FeatureShardStoreOptions { ReadersPerShard = readersPerShard });

    // Load libtorch before the clock, as the peer imports torch before its clock starts.
    using (TorchSharp.torch.zeros(1))
    {
    }

    var options = new BatchStreamerOptions
    {
        Sampler = new ClipSamplerOptions { ClipsPerVideo = clips },
        Assemblers = assemblers,
        PrefetchDepth = prefetch,
    };
    for (var epoch = 0; epoch < epochs; epoch++)
    {
        var plan = BatchPlan.Shuffled(store.VideoIds, batchVideos, 0, epoch);
        plan = plan with { Batches = plan.Batches.Where(b => b.Count == batchVideos).ToList() };
        var clock = Stopwatch.StartNew();
        var batches = 0;
        long clipsSeen = 0;
        var first = 0.0;
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, options))
        {
            first = batches == 0 ? clock.Elapsed.TotalSeconds : first;
            clipsSeen += batch.ClipCount;
            batch.Dispose();
            batches++;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var stats = store.Stats;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"RESULT ours epoch={epoch} batches={batches} clips={clipsSeen} seconds={seconds:F3} batches_per_s={batches / seconds:F3} first_batch_s={first:F3} bytes_read={stats.BytesRead} shard_bytes={stats.ShardBytes} row_groups_read={stats.RowGroupsRead} cache_hits={stats.CacheHits}"));
    }

    return 0;
}

static async Task<int> ReadAsync(string dir, int repeats)
{
    // Each repeat reads every row group of every shard twice, once with the page reader that copies feature values
    // straight into per-video arrays and once with Parquet.Net's general column reader (FastFloatLists off), in
    // alternating order, so both see the same page cache and machine load. Ratio > 1: the page reader is faster.
    var paths = Directory.GetFiles(Path.Combine(dir, "shards"), "*.parquet").Order(StringComparer.Ordinal).ToList();
    var bytes = paths.Sum(p => new FileInfo(p).Length);
    var ratios = new List<double>();
    for (var r = 0; r < repeats; r++)
    {
        var seconds = new Dictionary<bool, double>();
        foreach (var fast in r % 2 == 0 ? new[] { true, false } : [false, true])
        {
            var clock = Stopwatch.StartNew();
            long values = 0;
            foreach (var path in paths)
            {
                await using var reader = await VideoData.Shards.FeatureShardReader.OpenAsync(path, new VideoData.Shards.FeatureShardReaderOptions { FastFloatLists = fast });
                for (var g = 0; g < reader.RowGroupCount; g++)
                {
                    foreach (var record in await reader.ReadRowGroupAsync(g))
                    {
                        values += record.Features.LongLength;
                    }
                }
            }

            seconds[fast] = clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT read reader={(fast ? "ours" : "parquetnet")} repeat={r} seconds={seconds[fast]:F3} mb_per_s={bytes / 1e6 / seconds[fast]:F1} values={values}"));
        }

        ratios.Add(seconds[false] / seconds[true]);
    }

    ratios.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT read ratio_median={ratios[ratios.Count / 2]:F2} ratios={string.Join(",", ratios.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} shard_bytes={bytes}"));
    return 0;
}

static async Task<int> TinyAsync(string configPath, string output)
{
    var config = TrainConfig.Load(configPath) with { Output = output };
    var options = config.ToTrainerOptions();
    var synthetic = config.Data.Synthetic;
    var train = new InMemoryVideoStore(SyntheticCorpus.Generate(synthetic.ToOptions(options.Model.FeatureDim, heldOut: false)));
    var heldOut = new InMemoryVideoStore(SyntheticCorpus.Generate(synthetic.ToOptions(options.Model.FeatureDim, heldOut: true)));
    var observer = new Totals();
    using var trainer = VideoClipTrainer.Create(options, train, heldOut, EpochPlannerFactory.Create(config, train), observer);
    var epochs = await trainer.RunAsync();
    // The first step of each epoch waits for the stream to start; it is counted like every other.
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"RESULT tiny steps={observer.Steps} step_s={observer.Step.TotalSeconds:F3} wait_s={observer.Wait.TotalSeconds:F4} wait_share={observer.Wait / observer.Step:F5} final_r1={epochs[^1].RecallAt1:F3}"));
    return 0;
}

internal sealed class Totals : ITrainingObserver
{
    public int Steps { get; private set; }

    public TimeSpan Step { get; private set; }

    public TimeSpan Wait { get; private set; }

    public void OnStep(StepReport report)
    {
        Steps++;
        Step += report.StepTime;
        Wait += report.DataWait;
    }

    public void OnEpoch(EpochReport report) => Console.WriteLine($"epoch {report.Epoch}: loss {report.MeanLoss:F3} R@1 {report.RecallAt1:P1} data wait {report.DataWaitShare:P2}");

    public void OnCheckpoint(string path)
    {
    }
}

/// <summary>Minimal .npy (format 1.0) writer for little-endian numeric arrays.</summary>
internal static class Npy
{
    public static void Write<T>(string path, string descr, long[] shape, ReadOnlySpan<T> data)
        where T : unmanaged
    {
        var dims = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}";
        var total = 10 + header.Length + 1;
        header += new string(' ', (64 - (total % 64)) % 64) + "\n";
        using var file = File.Create(path);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y']);
        file.WriteByte(1);
        file.WriteByte(0);
        var length = (ushort)header.Length;
        file.WriteByte((byte)(length & 0xff));
        file.WriteByte((byte)(length >> 8));
        file.Write(Encoding.ASCII.GetBytes(header));
        file.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));
    }
}

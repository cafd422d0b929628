using System.Diagnostics;
using System.Globalization;
using VideoData.Shards;

// Publish cost of one shard of VIDEOS videos x SECONDS seconds of 512-d features (float16-rounded, the default), side by side
// in one process, alternating for ROUNDS rounds, medians printed:
//   before: what the publish did until issue 15: every done video read back from its own one-row work file (decoding its
//           features) and re-encoded into the shard file by the writer;
//   after:  the shard assembled from segment files (8 videos each, one row group per video) by copying column chunks.
// Republishing a shard (one more video) cost the same as a first publish before; after, it is the same copy again.
var videos = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 512;
var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 120;
var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
var dir = Directory.CreateTempSubdirectory("videodata-publish-bench-").FullName;
try
{
    var lineage = new ShardLineage { WeightsSha256 = new string('0', 64) };
    var random = new Random(15);
    var ids = Enumerable.Range(0, videos).Select(i => $"video{i:D6}").ToList();
    FeatureRecord Make(string id) => new()
    {
        VideoId = id,
        Duration = seconds,
        Seconds = seconds,
        Features = Enumerable.Range(0, seconds * 512).Select(_ => (float)random.NextDouble()).ToArray(),
        Captions = [new CaptionSegment(0, 1, "a caption", [1, 2, 3])],
    };

    // Inputs of both paths, written once: one-video work files (before) and 8-video segments (after).
    var workFiles = new List<string>();
    var segments = new List<(string Path, List<string> Ids)>();
    for (var start = 0; start < videos; start += 8)
    {
        var batch = ids.Skip(start).Take(8).Select(Make).ToList();
        var segment = Path.Combine(dir, $"seg-{start:D6}.parquet");
        await using (var writer = FeatureShardWriter.CreateFile(segment, lineage, new FeatureShardWriterOptions { VideosPerRowGroup = 1 }))
        {
            foreach (var record in batch)
            {
                await writer.AddAsync(record);
            }

            await writer.CompleteAsync();
        }

        segments.Add((segment, batch.Select(r => r.VideoId).ToList()));
        foreach (var record in batch)
        {
            var work = Path.Combine(dir, $"{record.VideoId}.parquet");
            await using var writer = FeatureShardWriter.CreateFile(work, lineage);
            await writer.AddAsync(record);
            await writer.CompleteAsync();
            workFiles.Add(work);
        }
    }

    async Task<double> BeforeAsync()
    {
        var clock = Stopwatch.StartNew();
        var output = Path.Combine(dir, "before.parquet");
        await using (var writer = FeatureShardWriter.CreateFile(output, lineage))
        {
            foreach (var (work, id) in workFiles.Zip(ids))
            {
                await using var reader = await FeatureShardReader.OpenAsync(work);
                await writer.AddAsync(await reader.ReadVideoAsync(id));
            }

            await writer.CompleteAsync();
        }

        return clock.Elapsed.TotalSeconds;
    }

    async Task<double> AfterAsync()
    {
        var clock = Stopwatch.StartNew();
        var streams = segments.Select(s => (Stream)File.OpenRead(s.Path)).ToList();
        try
        {
            var sources = segments.Zip(streams, (s, stream) => new AssemblySource(s.Path, stream)).ToList();
            var picks = segments.SelectMany((s, i) => s.Ids.Select(id => (i, id))).ToList();
            await using var destination = File.Create(Path.Combine(dir, "after.parquet"));
            await FeatureShardAssembler.AssembleAsync(sources, picks, destination);
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
        }

        return clock.Elapsed.TotalSeconds;
    }

    var before = new List<double>();
    var after = new List<double>();
    for (var round = 0; round < rounds; round++)
    {
        before.Add(await BeforeAsync());
        after.Add(await AfterAsync());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}: before {before[^1]:F2} s, after {after[^1]:F2} s"));
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
    var size = new FileInfo(Path.Combine(dir, "after.parquet")).Length / 1048576.0;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"publish one shard of {videos} videos x {seconds} s ({size:F0} MiB): before {Median(before):F2} s, after {Median(after):F2} s; after is {Median(before) / Median(after):F1}x faster"));
}
finally
{
    Directory.Delete(dir, recursive: true);
}

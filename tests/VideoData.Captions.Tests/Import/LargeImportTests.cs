using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VideoData.Captions.Import;
using VideoData.Captions.Tokenization;
using VideoData.Storage.Sharding;

namespace VideoData.Captions.Tests.Import;

[CollectionDefinition(nameof(LargeImportCollection), DisableParallelization = true)]
public sealed class LargeImportCollection;

/// <summary>
/// Imports generated corpora of 1,500 (warm-up), 5,000 and 20,000 videos once, alone (so other
/// tests' allocations do not count), sampling the live heap after a full collection at every
/// progress report of all three passes.
/// </summary>
public sealed class LargeImportFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-captions-large-").FullName;

    internal Run Small { get; private set; } = null!;

    internal Run Large { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Parquet.Net and ArrayPool keep bounded static pools after first use; a first import warms them.
        await ImportAsync(1_500);
        Small = await ImportAsync(5_000);
        Large = await ImportAsync(20_000);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private async Task<Run> ImportAsync(int videos)
    {
        var input = Path.Combine(_dir, $"raw_caption_{videos}.json");
        var stats = CorpusGenerator.Write(input, videos, damagedEvery: 2_500, seed: videos);
        var probe = new HeapProbe();
        var output = Path.Combine(_dir, $"out{videos}");
        var summary = await CaptionImporter.ImportAsync(new CaptionImportOptions { InputPath = input, OutputDirectory = output, ShardSize = 1_000, Progress = probe });
        return new Run(stats, summary, output, probe.Peak - probe.Baseline, probe.Samples, new FileInfo(input).Length);
    }

    /// <param name="PeakLiveHeap">Highest live heap during the import above the live heap before it.</param>
    internal sealed record Run(CorpusGenerator.Stats Stats, CaptionImportSummary Summary, string Output, long PeakLiveHeap, int Samples, long FileBytes);

    private sealed class HeapProbe : IProgress<CaptionImportProgress>
    {
        // Live heap before the import (static pools retained from earlier imports included).
        public long Baseline { get; } = GC.GetTotalMemory(forceFullCollection: true);

        public long Peak { get; private set; }

        public int Samples { get; private set; }

        public void Report(CaptionImportProgress value)
        {
            Samples++;
            Peak = Math.Max(Peak, GC.GetTotalMemory(forceFullCollection: true));
        }
    }
}

[Collection(nameof(LargeImportCollection))]
public sealed class LargeImportTests(LargeImportFixture fixture) : IClassFixture<LargeImportFixture>
{
    [Fact]
    public void ImportAsync_FourTimesTheVideos_PeakLiveHeapDoesNotFollowTheCaptions()
    {
        var (small, large) = (fixture.Small, fixture.Large);
        Assert.True(large.Samples >= 20 + 20 + 20, "progress was reported throughout the three passes");
        var captionGrowth = large.FileBytes - small.FileBytes;
        var heapGrowth = large.PeakLiveHeap - small.PeakLiveHeap;
        Console.WriteLine($"import peak live heap above its start: {small.PeakLiveHeap:N0} B for 5,000 videos ({small.FileBytes:N0} B of JSON), {large.PeakLiveHeap:N0} B for 20,000 ({large.FileBytes:N0} B)");

        // Holding the captions would grow the heap by more than their JSON size (UTF-16 strings,
        // objects); the import holds an id index of ~30 B a video plus bounded buffers and pools.
        // The bound leaves room for sampling noise: the larger run takes 4x the samples of the
        // videos in flight between stages, so its maximum is higher by chance alone.
        Assert.True(captionGrowth > 25_000_000, $"the generated files should differ by > 25 MB, got {captionGrowth:N0}");
        Assert.True(
            heapGrowth < captionGrowth / 2,
            $"peak live heap grew by {heapGrowth:N0} B ({small.PeakLiveHeap:N0} → {large.PeakLiveHeap:N0}) for {captionGrowth:N0} more bytes of captions");
    }

    [Fact]
    public async Task ImportAsync_20000Videos_CountsAddUpAndShardsFollowTheAssignmentRule()
    {
        var (stats, summary, output) = (fixture.Large.Stats, fixture.Large.Summary, fixture.Large.Output);

        // Every entry is accounted for: imported, damaged, or a superseded duplicate.
        Assert.Equal(stats.Entries, summary.Entries);
        Assert.Equal(8, stats.Damaged);
        Assert.Equal(stats.Damaged + stats.Duplicates, summary.Damaged.Count);
        Assert.Equal(summary.Entries, summary.Videos + summary.Damaged.Count);
        Assert.Equal(stats.Damaged, summary.Damaged.Count(entry => !entry.Reason.StartsWith("duplicate", StringComparison.Ordinal)));
        Assert.Equal(stats.CuesOfImported, summary.Counts.Cues);
        Assert.Equal(summary.Counts.Cues, summary.Counts.Kept + summary.Counts.DroppedByReason.Values.Sum());
        Assert.True(summary.Counts.Kept > summary.Counts.Segments, "the generated captions overlap, so dedup merges some");
        Assert.True(summary.Counts.DroppedNonString > 0 && summary.Counts.DroppedEmpty > 0);

        // Shards: the storage ShardPlanner's plan of the distinct readable ids (damaged ones keep their slot),
        // and the rule it implements, recomputed here: SHA-256 prefix order, cut every 1,000.
        var expectedOrder = stats.ReadableIds.Distinct().OrderBy(Key).ThenBy(id => id, StringComparer.Ordinal).ToList();
        var plan = ShardPlanner.Plan(stats.ReadableIds.Distinct(), 1_000);
        Assert.Equal(expectedOrder, plan.Shards.SelectMany(shard => shard.VideoIds));
        var damagedIds = summary.Damaged.Where(entry => !entry.Reason.StartsWith("duplicate", StringComparison.Ordinal)).Select(entry => entry.VideoId).ToHashSet();
        Assert.Equal(plan.Shards.Count, summary.Shards);
        long rows = 0, segments = 0;
        for (var shard = 0; shard < summary.Shards; shard++)
        {
            var path = Path.Combine(output, $"shard-{shard:D5}.parquet");
            Assert.Equal(path, summary.ShardFiles[shard]);
            var table = await CaptionTable.ReadAsync(path);
            var expected = plan.Shards[shard].VideoIds.Where(id => !damagedIds.Contains(id));
            Assert.Equal(expected, table.Select(row => row.VideoId));
            rows += table.Count;
            foreach (var segment in table.SelectMany(row => row.Segments))
            {
                segments++;
                Assert.True(segment.End >= segment.Start && segment.Start >= 0);
                if (segments % 97 == 0)
                {
                    Assert.Equal(BertWordPieceTokenizer.Default.EncodeSegment(segment.Text), segment.TokenIds);
                }
            }
        }

        Assert.Equal(summary.Videos, rows);
        Assert.Equal(summary.Counts.Segments, segments);
        Assert.Equal(summary.Damaged.Count, File.ReadAllLines(Path.Combine(output, "damaged.jsonl")).Length);
        using var written = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "summary.json")));
        Assert.Equal(summary.Videos, written.RootElement.GetProperty("videos").GetInt64());
        Assert.Equal(summary.Damaged.Count, written.RootElement.GetProperty("damaged_entries").GetInt64());
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(output), entry => entry.Contains(".import-", StringComparison.Ordinal) || entry.Contains(VideoData.Core.IO.OutputFile.TemporaryPrefix, StringComparison.Ordinal));
    }

    private static ulong Key(string id) => BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
}

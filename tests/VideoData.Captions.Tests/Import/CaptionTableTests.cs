using VideoData.Captions.Cleaning;
using VideoData.Captions.Import;
using VideoData.Shards;

namespace VideoData.Captions.Tests.Import;

public sealed class CaptionTableTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-captions-table-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task WriteAsync_SpilledVideos_ReadBackInRankOrderWithEveryLevelCase()
    {
        // Appended out of rank order; more rows than a row group; videos without segments, segments
        // without token ids, non-ASCII text and ids, at the start, the end and inside row groups.
        var videos = new List<(int Rank, string Id, CaptionSegment[] Segments)>();
        var random = new Random(7);
        for (var rank = 0; rank < CaptionTable.RowGroupSize + 300; rank++)
        {
            var segments = new CaptionSegment[rank % 5 == 0 ? 0 : random.Next(1, 6)];
            for (var s = 0; s < segments.Length; s++)
            {
                var tokens = Enumerable.Range(0, (rank + s) % 4 == 0 ? 0 : random.Next(1, 33)).Select(_ => random.Next(30522)).ToArray();
                var text = (rank + s) % 7 == 0 ? $"café 東京 {rank}.{s} 😀" : $"segment {rank}.{s}";
                segments[s] = new CaptionSegment(s + (rank / 1000.0), s + 0.5 + (rank / 1000.0), text, tokens);
            }

            videos.Add((rank, rank % 11 == 0 ? $"vidé-{rank}" : $"vid-{rank}", segments));
        }

        using var spill = new SpillFile(Path.Combine(_dir, "shard.bin"));
        foreach (var (rank, id, segments) in videos.OrderBy(_ => random.Next()))
        {
            spill.Append(rank, id, segments);
        }

        var path = Path.Combine(_dir, "shard.parquet");
        await CaptionTable.WriteAsync(path, spill, new Dictionary<string, string> { ["k"] = "v" }, new CaptionColumns(), CancellationToken.None);

        var table = await CaptionTable.ReadAsync(path);
        Assert.Equal(videos.Select(video => video.Id), table.Select(row => row.VideoId));
        for (var i = 0; i < videos.Count; i++)
        {
            Assert.Equal(
                videos[i].Segments.Select(s => (s.Start, s.End, s.Text, string.Join(',', s.TokenIds))),
                table[i].Segments.Select(s => (s.Start, s.End, s.Text, string.Join(',', s.TokenIds))));
        }
    }

    [Fact]
    public async Task WriteAsync_NoRecords_WritesAnEmptyTable()
    {
        var path = Path.Combine(_dir, "empty.parquet");
        await CaptionTable.WriteAsync(path, null, new Dictionary<string, string>(), new CaptionColumns(), CancellationToken.None);
        Assert.Empty(await CaptionTable.ReadAsync(path));
    }
}

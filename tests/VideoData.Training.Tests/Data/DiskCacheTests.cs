using VideoData.Shards;
using VideoData.Training.Data;

namespace VideoData.Training.Tests.Data;

public sealed class DiskCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-diskcache-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static VideoRecord Video() => new(
        "clip-1",
        8,
        Enumerable.Range(0, 8 * 37).Select(i => (float)Math.Sin(i)).ToArray(),
        [new CaptionSegment(0.5, 2.25, [101, 7, 9]), new CaptionSegment(3, 4, []), new CaptionSegment(4, 9.5, [5])]);

    [Fact]
    public async Task WriteThenRead_RoundTripsFeaturesAndSegments()
    {
        var video = Video();
        var path = await DiskCache.WriteAsync(_dir, video, CancellationToken.None);

        var read = await DiskCache.ReadAsync(path, video.VideoId, CancellationToken.None);

        Assert.Equal(video.FeatureDim, read.FeatureDim);
        Assert.Equal(video.Features, read.Features);
        Assert.Equal(video.Segments.Select(s => (s.Start, s.End)), read.Segments.Select(s => (s.Start, s.End)));
        Assert.Equal(video.Segments.Select(s => s.TokenIds), read.Segments.Select(s => s.TokenIds));
    }

    [Theory]
    [InlineData(20)]
    [InlineData(600)]
    [InlineData(8)]
    [InlineData(-3)]
    public async Task Read_TruncatedFile_FailsNamingIt(int keep)
    {
        var path = await DiskCache.WriteAsync(_dir, Video(), CancellationToken.None);
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..(keep < 0 ? bytes.Length + keep : keep)]);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => DiskCache.ReadAsync(path, "clip-1", CancellationToken.None));

        Assert.Contains(path, ex.Message);
    }
}

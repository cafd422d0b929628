using System.Text;
using VideoData.Captions.Reading;

namespace VideoData.Captions.Tests.Reading;

public sealed class HowTo100MCaptionReaderTests
{
    private const string Good = "{\"start\": [1.5, 3], \"end\": [3.25, 5], \"text\": [\"cut the\\nonion\", \"now \\u00e9 \\\"fry\\\"\"]}";

    private static List<HowTo100MEntry> ReadAll(string json, int maxChunk = int.MaxValue)
    {
        using var stream = new TrickleStream(Encoding.UTF8.GetBytes(json), maxChunk);
        return [.. HowTo100MCaptionReader.Read(stream, "raw_caption.json")];
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1)]
    [InlineData(7)]
    public void Read_ValidCorpus_YieldsEachVideoInOrderWhateverTheReadSizes(int maxChunk)
    {
        var json = $"\uFEFF {{ \"vid-1\" : {Good},\n \"v\\\"2\\u00e9\": {{\"text\": [], \"start\": [], \"end\": []}}, \"vid3\": {Good} }}";
        var entries = ReadAll(json, maxChunk);
        Assert.Equal(["vid-1", "v\"2é", "vid3"], entries.Select(entry => entry.VideoId));
        Assert.All(entries, entry => Assert.False(entry.IsDamaged));
        Assert.Equal([new CaptionCue(1.5, 3.25, "cut the\nonion"), new CaptionCue(3, 5, "now é \"fry\"")], entries[0].Cues);
        Assert.Empty(entries[1].Cues);
    }

    [Fact]
    public void Read_DamagedEntries_RecordsEachWithIdAndReasonAndContinues()
    {
        var json = "{" + string.Join(", ",
            $"\"ok1\": {Good}",
            "\"wrong-type\": {\"start\": [0, \"1\"], \"end\": [1, 2], \"text\": [\"a\", \"b\"]}",
            "\"not-object\": [1, 2, 3]",
            "\"missing-end\": {\"start\": [0], \"text\": [\"a\"]}",
            "\"bad-token\": {\"start\": [0, 1..5], \"end\": [1, 2], \"text\": [\"a\", \"b\"]}",
            "\"unterminated\": {\"start\": [0, 1], \"end\": [1, 2], \"text\": [\"a\", \"b\"",
            $"\"ok2\": {Good}",
            "\"scalar\": 42",
            "\"huge\": {\"start\": [1e400], \"end\": [1], \"text\": [\"a\"]}",
            "\"uneven\": {\"start\": [0, 1, 2], \"end\": [1, 2], \"text\": [\"a\", \"b\", \"c\", \"d\"]}",
            $"\"ok3\": {Good}") + "}";
        var entries = ReadAll(json, 5);
        Assert.Equal(
            ["ok1", "wrong-type", "not-object", "missing-end", "bad-token", "unterminated", "ok2", "scalar", "huge", "uneven", "ok3"],
            entries.Select(entry => entry.VideoId));
        Assert.Equal(
            [false, true, true, true, true, true, false, true, false, false, false],
            entries.Select(entry => entry.IsDamaged));
        Assert.Contains("'start[1]' is a string", entries[1].Damage, StringComparison.Ordinal);
        Assert.Contains("not an object", entries[2].Damage, StringComparison.Ordinal);
        Assert.Contains("missing 'end'", entries[3].Damage, StringComparison.Ordinal);
        Assert.Contains("invalid JSON", entries[4].Damage, StringComparison.Ordinal);
        Assert.Contains("not terminated", entries[5].Damage, StringComparison.Ordinal);
        Assert.Contains("entry at byte", entries[5].Damage, StringComparison.Ordinal);
        // A number beyond double's range reads as infinity; the cleaner drops such a cue as non-finite.
        Assert.Equal(double.PositiveInfinity, Assert.Single(entries[8].Cues).Start);
        Assert.Equal(2, entries[9].Cues.Count);
        Assert.Equal(2, entries[9].UnpairedElements);
        Assert.Equal(entries[0].Cues, entries[10].Cues);
    }

    [Fact]
    public void Read_TruncatedFile_ReportsTheLastEntryAsTruncated()
    {
        var json = $"{{\"ok\": {Good}, \"cut\": {{\"start\": [0, 1], \"end\": [1";
        var entries = ReadAll(json, 3);
        Assert.Equal(["ok", "cut"], entries.Select(entry => entry.VideoId));
        Assert.Contains("truncated", entries[1].Damage, StringComparison.Ordinal);

        var missingBrace = ReadAll($"{{\"ok\": {Good}");
        Assert.Equal(2, missingBrace.Count);
        Assert.False(missingBrace[0].IsDamaged);
        Assert.Contains("closing '}'", missingBrace[1].Damage, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_GarbageBetweenEntries_ResynchronizesAtTheNextEntry()
    {
        var json = $"{{\"ok1\": {Good}, garbage here, \"ok2\": {Good}}}";
        var entries = ReadAll(json, 4);
        Assert.Equal(3, entries.Count);
        Assert.Equal("ok1", entries[0].VideoId);
        Assert.True(entries[1].IsDamaged);
        Assert.Contains("expected a video id", entries[1].Damage, StringComparison.Ordinal);
        Assert.Equal("ok2", entries[2].VideoId);
        Assert.False(entries[2].IsDamaged);
    }

    [Fact]
    public void Read_NotAnObject_ThrowsNamingTheSource()
    {
        var error = Assert.Throws<InvalidDataException>(() => ReadAll("[1, 2]"));
        Assert.Contains("raw_caption.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_SameEntriesAsRead()
    {
        var json = $"{{\"a\": {Good}, \"b\": 1, \"c\": {Good}}}";
        var expected = ReadAll(json);
        using var stream = new TrickleStream(Encoding.UTF8.GetBytes(json), 2);
        var actual = new List<HowTo100MEntry>();
        await foreach (var entry in HowTo100MCaptionReader.ReadAsync(stream, "x"))
        {
            actual.Add(entry);
        }

        Assert.Equal(expected.Select(entry => (entry.VideoId, entry.Damage, entry.Cues.Count)), actual.Select(entry => (entry.VideoId, entry.Damage, entry.Cues.Count)));
    }

    /// <summary>A stream that returns at most a few bytes per read, to exercise buffer refills at every position.</summary>
    private sealed class TrickleStream(byte[] data, int maxChunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, maxChunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, maxChunk)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, maxChunk)], cancellationToken);
    }
}

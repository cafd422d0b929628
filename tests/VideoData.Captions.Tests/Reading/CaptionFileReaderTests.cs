using System.Text;
using VideoData.Captions.Cleaning;
using VideoData.Captions.Reading;
using VideoData.Core.Failures;

namespace VideoData.Captions.Tests.Reading;

public sealed class CaptionFileReaderTests
{
    private static CaptionTrack ReadTestFile(string name)
    {
        using var stream = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "TestData", name));
        return CaptionFileReader.Read(stream, name);
    }

    private static CaptionTrack ReadText(string content, string name = "input")
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        return CaptionFileReader.Read(stream, name);
    }

    [Fact]
    public void Read_YouTubeRollingVtt_EachSpokenLineOnce()
    {
        // Derived by hand from TestData/youtube-rolling.vtt: the 10 ms cues only repeat the finished
        // line; each 2-line cue repeats the previous line above the new one; header, STYLE and NOTE
        // blocks and the blank " " lines carry no text; inline timings and <c> tags are removed;
        // the last cue does not touch the one before, so it is read as is (entities kept for cleanup).
        var track = ReadTestFile("youtube-rolling.vtt");
        Assert.Equal(CaptionFormat.WebVtt, track.Format);
        Assert.Equal(0, track.SkippedCues);
        Assert.Equal(
            [
                new CaptionCue(0.16, 2.03, "hi everyone today we're making"),
                new CaptionCue(2.04, 4.87, "a simple tomato sauce"),
                new CaptionCue(4.88, 7.51, "[Music]"),
                new CaptionCue(10.0, 12.3, "first chop the onions&nbsp;&amp; garlic"),
            ],
            track.Cues);
    }

    [Fact]
    public void Clean_YouTubeRollingVtt_NormalizesAndOptionallyDropsMarkers()
    {
        var track = ReadTestFile("youtube-rolling.vtt");
        var cleaned = new CaptionCleaner(new CaptionCleanerOptions { Normalize = true }).Clean("vtt", track.Cues);
        Assert.Equal(
            ["hi everyone today we're making", "a simple tomato sauce", "[Music]", "first chop the onions & garlic"],
            cleaned.Segments.Select(segment => segment.Text));

        var withoutMarkers = new CaptionCleaner(new CaptionCleanerOptions { Normalize = true, RemoveNonSpeechMarkers = true }).Clean("vtt", track.Cues);
        Assert.Equal(3, withoutMarkers.Segments.Count);
        Assert.Equal(1, withoutMarkers.Counts.DroppedMarkerOnly);
        Assert.Equal((10.0, 12.3), (withoutMarkers.Segments[2].Start, withoutMarkers.Segments[2].End));
    }

    [Fact]
    public void Read_MessySrt_RecoversEveryCue()
    {
        // TestData/messy.srt: BOM, CRLF, <i>/<b>/{\an8} tags, a wrong sequence number (7), a cue
        // with no number, a cue with no blank line before it, '.' and ',' separators, cue settings,
        // a block with a malformed timing line (skipped, counted) and a text line that is a number.
        var track = ReadTestFile("messy.srt");
        Assert.Equal(CaptionFormat.Srt, track.Format);
        Assert.Equal(1, track.SkippedCues);
        Assert.Equal(
            [
                new CaptionCue(1.0, 3.5, "Welcome back to the kitchen!"),
                new CaptionCue(4.0, 6.25, "Today: bread &amp; butter"),
                new CaptionCue(7.0, 8.0, "No sequence number here"),
                new CaptionCue(9.0, 10.0, "No blank line before me"),
                new CaptionCue(12.0, 13.0, "2024 was a good year"),
            ],
            track.Cues);
    }

    [Fact]
    public void Read_PlainVttWithCueIdsAndShortTimestamps_KeepsMultiLineCuesWhole()
    {
        const string Vtt = "WEBVTT - a title\n\nintro\n00:01.000 --> 00:02.500 line:0\n<v Chef>Two lines</v>\nof one cue\n\n2\n01:00:00.000 --> 01:00:01.000\nAn hour &lt;in&gt;\n";
        var track = ReadText(Vtt);
        Assert.Equal(
            [new CaptionCue(1.0, 2.5, "Two lines of one cue"), new CaptionCue(3600.0, 3601.0, "An hour &lt;in&gt;")],
            track.Cues);
    }

    [Fact]
    public void Read_HowTo100MVideoJson_PairsByPositionAndKeepsNonStringSlots()
    {
        var track = ReadText("{\"start\": [0.5, 2, 4], \"end\": [2.5, 4.1, 6], \"text\": [\"hello\", null, \"world\"], \"extra\": {\"a\": 1}}");
        Assert.Equal(CaptionFormat.HowTo100MVideo, track.Format);
        Assert.Equal([new CaptionCue(0.5, 2.5, "hello"), new CaptionCue(2, 4.1, null), new CaptionCue(4, 6, "world")], track.Cues);
    }

    [Theory]
    [InlineData("WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n", CaptionFormat.WebVtt)]
    [InlineData("\uFEFF\r\n1\r\n00:00:01,000 --> 00:00:02,000\r\nhi\r\n", CaptionFormat.Srt)]
    [InlineData("00:00:01.000 --> 00:00:02.000\nhi\n", CaptionFormat.Srt)]
    [InlineData("  {\"text\": [\"a\"], \"start\": [0], \"end\": [1]}", CaptionFormat.HowTo100MVideo)]
    [InlineData("{\"vid1\": {\"start\": [0], \"end\": [1], \"text\": [\"a\"]}}", CaptionFormat.HowTo100MCorpus)]
    [InlineData("\"start\" is not here", null)]
    public void DetectFormat_FromContent_IgnoresNames(string content, CaptionFormat? expected)
    {
        Assert.Equal(expected, CaptionFileReader.DetectFormat(Encoding.UTF8.GetBytes(content)));
    }

    [Theory]
    [InlineData("just some words\nno cues\n", "not a caption file")]
    [InlineData("WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\nxx:yy --> 00:03.000\nbad\n", null)]
    [InlineData("{\"start\": [0, \"x\"], \"end\": [1, 2], \"text\": [\"a\", \"b\"]}", "'start[1]' is a string, not a number")]
    [InlineData("{\"v\": {\"start\": [0], \"end\": [1], \"text\": [\"a\"]}}", "corpus")]
    public void Read_BadInput_ThrowsCaptionsFailureNamingTheInput(string content, string? expectedMessage)
    {
        if (expectedMessage is null)
        {
            // A malformed cue is skipped and counted, the rest is read.
            var track = ReadText(content, "clip.vtt");
            Assert.Single(track.Cues);
            Assert.Equal(1, track.SkippedCues);
            return;
        }

        var error = Assert.Throws<VideoDataException>(() => ReadText(content, "clip.vtt"));
        Assert.Equal(FailureClass.Captions, error.FailureClass);
        Assert.Contains("'clip.vtt'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expectedMessage, error.Message, StringComparison.Ordinal);
    }
}

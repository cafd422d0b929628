using System.Globalization;
using System.Text;
using VideoData.Captions.Reading;
using VideoData.Core.Failures;

namespace VideoData.Captions.Tests.Reading;

/// <summary>
/// Conformance table for the WebVTT reader, one or more cases per rule of the W3C WebVTT file-parsing
/// algorithm that decides cues (WebVTT §6.1: signature and byte-order mark, header, block boundaries,
/// cue identifiers, timestamps, cue text, NUL and line-break handling), each expected value derived
/// from the algorithm's steps by hand. Cues print as "start-end text", joined by " | ".
/// </summary>
public sealed class WebVttConformanceTests
{
    private const string Cue = "00:01.000 --> 00:02.000";

    public static TheoryData<string, string, string, int> Cases => new()
    {
        // Signature: exactly "WEBVTT", then the end of the file, a space, a tab or a line break.
        { "signature alone", "WEBVTT", "", 0 },
        { "signature then a tab and a title", "WEBVTT\tA title\n\n" + Cue + "\nhi", "1-2 hi", 0 },
        { "signature then a space and text, then a blank line", "WEBVTT - a title\n\n" + Cue + "\nhi", "1-2 hi", 0 },

        // Byte-order mark: one leading U+FEFF is dropped by UTF-8 decoding.
        { "byte-order mark", "\uFEFFWEBVTT\n\n" + Cue + "\nhi", "1-2 hi", 0 },

        // Header: ends at a blank line, or just before a line holding "-->", which starts the first cue.
        { "no blank line after the signature line", "WEBVTT\n" + Cue + "\nfirst", "1-2 first", 0 },
        { "header lines then a timing line with no blank line", "WEBVTT title\nKind: captions\nLanguage: en\n" + Cue + "\nfirst", "1-2 first", 0 },
        { "header lines are never cue text", "WEBVTT\nKind: captions\n\n" + Cue + "\nhi", "1-2 hi", 0 },

        // Line breaks: CRLF and lone CR are line feeds.
        { "CR line breaks", "WEBVTT\r\r" + Cue + "\rone\rtwo\r", "1-2 one two", 0 },
        { "CRLF line breaks", "WEBVTT\r\n\r\n" + Cue + "\r\none\r\n\r\n00:03.000 --> 00:04.000\r\ntwo", "1-2 one | 3-4 two", 0 },

        // Block boundaries: a blank line ends a block; a timing line that is not a block's first line (nor
        // its second after an identifier) starts a new block, so cues need no blank line between them.
        { "two cues without a blank line", "WEBVTT\n\n" + Cue + "\na\n00:03.000 --> 00:04.000\nb", "1-2 a | 3-4 b", 0 },
        { "an identifier after cue text is cue text", "WEBVTT\n\n" + Cue + "\na\nid2\n00:03.000 --> 00:04.000\nb", "1-2 a id2 | 3-4 b", 0 },
        { "blank lines between blocks, any number", "WEBVTT\n\n\n\n" + Cue + "\na\n\n\n\n00:03.000 --> 00:04.000\nb\n\n\n", "1-2 a | 3-4 b", 0 },
        { "timing line as third line of a block", "WEBVTT\n\nx\ny\n" + Cue + "\nc", "1-2 c", 1 },

        // Cue identifiers: a first line without "-->" followed by a timing line.
        { "cue identifier", "WEBVTT\n\nintro\n" + Cue + "\nhi", "1-2 hi", 0 },
        { "identifier NOTE followed by a timing line is a cue", "WEBVTT\n\nNOTE\n" + Cue + "\nstill a cue", "1-2 still a cue", 0 },

        // Comments, style sheets and regions: parsed and ignored, not counted as skipped cues.
        { "NOTE block", "WEBVTT\n\nNOTE a comment\nover two lines\n\n" + Cue + "\nhi", "1-2 hi", 0 },
        { "STYLE and REGION blocks before the first cue", "WEBVTT\n\nSTYLE\n::cue { color: red }\n\nREGION\nid:r1 width:40%\n\n" + Cue + "\nhi", "1-2 hi", 0 },
        { "STYLE after a cue is not a style sheet", "WEBVTT\n\n" + Cue + "\nhi\n\nSTYLE\n::cue { color: red }", "1-2 hi", 1 },
        { "NOTE line inside cue text is text", "WEBVTT\n\n" + Cue + "\nNOTE this is what was said", "1-2 NOTE this is what was said", 0 },

        // Timestamps: [h…h:]mm:ss.ttt, two digits of minutes and seconds (≤ 59), three fraction digits, a full stop.
        { "minutes and seconds only", "WEBVTT\n\n01:02.003 --> 01:04.500\nx", "62.003-64.5 x", 0 },
        { "one-digit hours", "WEBVTT\n\n1:00:01.000 --> 1:00:02.000\nx", "3601-3602 x", 0 },
        { "three-digit hours", "WEBVTT\n\n100:00:00.000 --> 100:00:01.000\nx", "360000-360001 x", 0 },
        { "no white space around the arrow", "WEBVTT\n\n00:01.000-->00:02.000\nx", "1-2 x", 0 },
        { "tabs around the arrow", "WEBVTT\n\n00:01.000\t-->\t00:02.000\nx", "1-2 x", 0 },
        { "cue settings after the end time", "WEBVTT\n\n" + Cue + " align:start position:0% line:0\nx", "1-2 x", 0 },
        { "one-digit first field needs hours", "WEBVTT\n\n0:01.000 --> 0:02.000\nx", "", 1 },
        { "one-digit seconds", "WEBVTT\n\n00:1.000 --> 00:2.000\nx", "", 1 },
        { "three-digit minutes", "WEBVTT\n\n00:001:00.000 --> 00:002:00.000\nx", "", 1 },
        { "two fraction digits", "WEBVTT\n\n00:01.00 --> 00:02.00\nx", "", 1 },
        { "four fraction digits", "WEBVTT\n\n00:01.0000 --> 00:02.0000\nx", "", 1 },
        { "no fraction", "WEBVTT\n\n00:01 --> 00:02\nx", "", 1 },
        { "comma before the milliseconds", "WEBVTT\n\n00:00:01,000 --> 00:00:02,000\nx", "", 1 },
        { "seconds 60", "WEBVTT\n\n00:00:60.000 --> 00:01:00.000\nx", "", 1 },
        { "minutes 60 with hours", "WEBVTT\n\n00:60:00.000 --> 01:00:00.000\nx", "", 1 },
        { "first field over 59 needs hours", "WEBVTT\n\n60:00.000 --> 61:00.000\nx", "", 1 },
        { "vertical tab before the timing line", "WEBVTT\n\n\v" + Cue + "\nx", "", 1 },
        { "vertical tab before the arrow", "WEBVTT\n\n00:01.000\v--> 00:02.000\nx", "", 1 },
        { "invalid timing line skips only its block", "WEBVTT\n\nxx:yy --> 00:03.000\nbad\n\n" + Cue + "\ngood", "1-2 good", 1 },

        // NUL becomes U+FFFD before parsing: after the end time it is a (meaningless) setting, in text it is text.
        { "NUL after the end time", "WEBVTT\n\n" + Cue + "\0\nkept", "1-2 kept", 0 },
        { "NUL in cue text", "WEBVTT\n\n" + Cue + "\na\0b", "1-2 a\uFFFDb", 0 },
        { "NUL in a timestamp", "WEBVTT\n\n00:0\01.000 --> 00:02.000\nx", "", 1 },

        // Cue text: tags dropped by the cue-text tokenizer; a tag left open runs to the end of the cue text.
        { "tags and inline timestamps", "WEBVTT\n\n" + Cue + "\n<v Chef>we <i>cut</i><00:01.500><c> it</c></v>", "1-2 we cut it", 0 },
        { "unclosed tag runs to the end of the cue text", "WEBVTT\n\n" + Cue + "\na <b\nc\n\n00:03.000 --> 00:04.000\nd", "1-2 a | 3-4 d", 0 },
        { "character references are left for the cleaner", "WEBVTT\n\n" + Cue + "\nbread &amp; butter", "1-2 bread &amp; butter", 0 },
        { "cue without text lines", "WEBVTT\n\n" + Cue + "\n\n00:03.000 --> 00:04.000\nb", "3-4 b", 0 },

        // YouTube rolling collapse: only in a track with inline timestamps, only for touching cues.
        { "touching repeated lines without inline timestamps are kept", "WEBVTT\n\n" + Cue + "\nYes.\n\n00:02.000 --> 00:03.000\nYes.", "1-2 Yes. | 2-3 Yes.", 0 },
        { "rolled-up line with inline timestamps is dropped", "WEBVTT\n\n" + Cue + "\nwe<00:01.500><c> cut</c>\n\n00:02.000 --> 00:03.000\nwe cut\nthe<00:02.500><c> onion</c>", "1-2 we cut | 2-3 the onion", 0 },
        { "rolling track, cues that do not touch are kept", "WEBVTT\n\n" + Cue + "\nwe<00:01.500><c> cut</c>\n\n00:05.000 --> 00:06.000\nwe cut", "1-2 we cut | 5-6 we cut", 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Read_WebVttRule_GivesTheCuesOfTheSpecification(string rule, string content, string expectedCues, int expectedSkipped)
    {
        var track = Read(content);
        Assert.Equal(CaptionFormat.WebVtt, track.Format);
        var cues = string.Join(" | ", track.Cues.Select(cue => string.Create(CultureInfo.InvariantCulture, $"{cue.Start:0.###}-{cue.End:0.###} {cue.Text}")));
        Assert.True(expectedCues == cues, $"{rule}: expected '{expectedCues}', got '{cues}'");
        Assert.True(expectedSkipped == track.SkippedCues, $"{rule}: expected {expectedSkipped} skipped, got {track.SkippedCues}");
    }

    [Theory]
    [InlineData("WEBVTTX\n\n00:01.000 --> 00:02.000\nhi", "'WEBVTT' must be followed by a space, a tab or a line break, not 'X'")]
    [InlineData("WEBVTT-bis\n", "not '-'")]
    [InlineData(" WEBVTT\n\n00:01.000 --> 00:02.000\nhi", "must start with 'WEBVTT'")]
    [InlineData("\n\nWEBVTT\n\n00:01.000 --> 00:02.000\nhi", "must start with 'WEBVTT'")]
    [InlineData("\uFEFF\uFEFFWEBVTT\n", "not a caption file")]
    public void Read_BadSignature_ThrowsCaptionsFailureNamingTheInputAndTheProblem(string content, string expected)
    {
        var error = Assert.Throws<VideoDataException>(() => Read(content));
        Assert.Equal(FailureClass.Captions, error.FailureClass);
        Assert.Contains("'clip.vtt'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DetectFormat_Utf8ByteOrderMark_IsRecognizedAsBytes()
    {
        // EF BB BF is the byte-order mark; C3 AF C2 BB C2 BF (three Latin-1 characters in UTF-8) is not.
        byte[] withMark = [0xEF, 0xBB, 0xBF, .. "WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n"u8];
        Assert.Equal(CaptionFormat.WebVtt, CaptionFileReader.DetectFormat(withMark));
        using var stream = new MemoryStream(withMark);
        Assert.Equal([new CaptionCue(1, 2, "hi")], CaptionFileReader.Read(stream, "bom.vtt").Cues);

        byte[] mojibake = [0xC3, 0xAF, 0xC2, 0xBB, 0xC2, 0xBF, .. "WEBVTT\n"u8];
        Assert.Null(CaptionFileReader.DetectFormat(mojibake));

        byte[] srtWithMark = [0xEF, 0xBB, 0xBF, .. "1\n00:00:01,000 --> 00:00:02,000\nhi\n"u8];
        Assert.Equal(CaptionFormat.Srt, CaptionFileReader.DetectFormat(srtWithMark));
    }

    [Fact]
    public void Read_SrtKeepsItsLenientRules()
    {
        // What WebVTT refuses, SRT accepts: commas, short fractions, missing blank lines, a vertical tab (trimmed).
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("1\n00:00:01,5 --> 00:00:02,000\none\n2\n\v00:00:03.000 --> 00:00:04.000\ntwo\n"));
        var track = CaptionFileReader.Read(stream, "clip.srt");
        Assert.Equal(CaptionFormat.Srt, track.Format);
        Assert.Equal([new CaptionCue(1.5, 2, "one"), new CaptionCue(3, 4, "two")], track.Cues);
    }

    [Fact]
    public void Read_HostileWebVtt_LinearInItsSize()
    {
        // 50,000 cues without blank lines (each repeating the line before, so all but the first collapse), then
        // one cue of 50,000 identical lines (only its first repeats the cue before) ending in an unclosed tag:
        // each is read in one pass (no per-line rescans); this asserts the results, not the time.
        var builder = new StringBuilder("WEBVTT\n");
        for (var i = 0; i < 50_000; i++)
        {
            builder.Append("00:01.000 --> 00:02.000\nx<00:01.500>\n");
        }

        builder.Append("\n00:02.000 --> 00:03.000\n");
        builder.Insert(builder.Length, "x\n", 50_000);
        builder.Append("<unclosed ").Append('y', 100_000);
        var track = Read(builder.ToString());
        Assert.Equal(2, track.Cues.Count);
        Assert.Equal(new CaptionCue(1, 2, "x"), track.Cues[0]);
        Assert.Equal((2.0, 3.0, (49_999 * 2) - 1), (track.Cues[1].Start, track.Cues[1].End, track.Cues[1].Text!.Length));
        Assert.Equal(0, track.SkippedCues);
    }

    private static CaptionTrack Read(string content)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        return CaptionFileReader.Read(stream, "clip.vtt");
    }
}

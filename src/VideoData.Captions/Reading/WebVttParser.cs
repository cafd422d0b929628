using System.Text;

namespace VideoData.Captions.Reading;

/// <summary>
/// WebVTT cues by the W3C WebVTT file-parsing algorithm (WebVTT: The Web Video Text Tracks Format,
/// §6.1 "WebVTT file parsing"), then YouTube's rolling auto-captions collapsed so each spoken line
/// appears once.
/// </summary>
/// <remarks>
/// What the specification decides, and this parser keeps:
/// <list type="bullet">
/// <item>Input: UTF-8 (invalid bytes become U+FFFD, one leading byte-order mark is dropped); every NUL
/// becomes U+FFFD; CRLF and lone CR become LF. Only LF ends a line afterwards.</item>
/// <item>Signature: the text starts with exactly <c>WEBVTT</c>, followed by the end, a space, a tab
/// or a line break; anything else (leading white space included) is not WebVTT.</item>
/// <item>Header: the rest of the signature line and the lines after it up to a blank line, or up to
/// a line containing <c>--&gt;</c>, which then starts the first cue.</item>
/// <item>Blocks: a block ends at a blank line, or just before a line containing <c>--&gt;</c> that is
/// not its first line (nor its second after an identifier line), so a timing line always starts a
/// new cue even without a blank line before it. A block is a cue when its first line (or its second,
/// after an identifier) is a valid timing line; the lines after it are the cue text, whatever they
/// contain (<c>NOTE</c> included). A block whose timing line is invalid is skipped (counted in
/// <see cref="CaptionTrack.SkippedCues"/>, as is any other block that is neither a cue nor a
/// <c>NOTE</c> comment); <c>STYLE</c> and <c>REGION</c> blocks before the first cue are ignored.</item>
/// <item>Timestamps: <c>[h…h:]mm:ss.ttt</c> with exactly two digits of minutes and seconds (each at
/// most 59), exactly three fraction digits after a full stop, and hours of one or more digits (an
/// hours field is required when the first field is not two digits or exceeds 59); white space around
/// the arrow is ASCII white space (space, tab, LF, FF, CR; not a vertical tab). Cue settings after
/// the end time are not interpreted (layout only).</item>
/// <item>Cue text: the spec's cue-text tokenizer drops every tag (<c>&lt;c&gt;</c>, <c>&lt;v Name&gt;</c>,
/// inline timestamps <c>&lt;00:00:01.230&gt;</c>; a <c>&lt;</c> with no <c>&gt;</c> opens a tag that
/// runs to the end of the cue text). Character references are left as written, for the cleaner's
/// normalization (<c>captions.normalize</c>), as for the other formats. Each line is then trimmed,
/// blank lines dropped and the rest joined by spaces.</item>
/// </list>
/// YouTube auto-captions show two lines, the line finished before and the line being spoken (with
/// inline word timings), then a 10 ms cue holding the finished line alone. The collapse fires only
/// on that pattern: in a track whose cues carry inline timestamps (the auto-caption signature), when
/// a cue starts no later than the previous cue ended (1 ms tolerance) and its first lines repeat the
/// previous cue's last lines (up to four), those lines are dropped (a cue left without lines is dropped). Other
/// tracks pass through unchanged; the cleaner's dedup handles their overlaps.
/// </remarks>
internal static class WebVttParser
{
    private const double TouchTolerance = 0.001;

    // Rolled-up captions repeat one or two lines; bounding the comparison keeps a hostile cue of many identical lines linear.
    private const int MaxRepeatedLines = 4;
    private const string Signature = "WEBVTT";

    public static CaptionTrack Parse(string content)
    {
        var input = Preprocess(content);
        CheckSignature(input);
        var cues = new List<ParsedCue>();
        var skipped = 0;
        var seenCue = false;

        // The signature line, then the header block (if the next line is not blank), then blank lines.
        var position = input.IndexOf('\n', StringComparison.Ordinal);
        if (position >= 0 && ++position < input.Length)
        {
            if (input[position] != '\n')
            {
                CollectBlock(input, ref position, inHeader: true, ref seenCue);
            }
            else
            {
                position++;
            }

            SkipLineFeeds(input, ref position);
            while (position < input.Length)
            {
                var block = CollectBlock(input, ref position, inHeader: false, ref seenCue);
                if (block.Cue is { } cue)
                {
                    cues.Add(cue);
                }
                else if (block.Kind == BlockKind.Other && !IsKeywordLine(block.FirstLine, "NOTE"))
                {
                    skipped++;
                }

                SkipLineFeeds(input, ref position);
            }
        }

        return new CaptionTrack(CaptionFormat.WebVtt, CollapseRolling(cues), skipped);
    }

    /// <summary>Strips one byte-order mark, replaces NUL with U+FFFD and normalizes line breaks to LF.</summary>
    private static string Preprocess(string content)
    {
        var span = content.AsSpan();
        if (span.Length > 0 && span[0] == '\uFEFF')
        {
            span = span[1..];
        }

        if (span.IndexOfAny('\0', '\r') < 0)
        {
            return span.Length == content.Length ? content : span.ToString();
        }

        var builder = new StringBuilder(span.Length);
        for (var i = 0; i < span.Length; i++)
        {
            var c = span[i];
            switch (c)
            {
                case '\0':
                    builder.Append('\uFFFD');
                    break;
                case '\r':
                    builder.Append('\n');
                    if (i + 1 < span.Length && span[i + 1] == '\n')
                    {
                        i++;
                    }

                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        return builder.ToString();
    }

    private static void CheckSignature(string input)
    {
        if (!input.StartsWith(Signature, StringComparison.Ordinal))
        {
            var shown = input.Length <= 16 ? input : input[..16] + "…";
            throw new FormatException($"not WebVTT: the file must start with 'WEBVTT' (after an optional byte-order mark), it starts with '{Escape(shown)}'");
        }

        if (input.Length > Signature.Length && input[Signature.Length] is not (' ' or '\t' or '\n'))
        {
            throw new FormatException($"not WebVTT: 'WEBVTT' must be followed by a space, a tab or a line break, not '{Escape(input[Signature.Length].ToString())}'");
        }
    }

    private static string Escape(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString());
        }

        return builder.ToString();
    }

    private static void SkipLineFeeds(string input, ref int position)
    {
        while (position < input.Length && input[position] == '\n')
        {
            position++;
        }
    }

    /// <summary>The spec's "collect a WebVTT block": reads lines from <paramref name="position"/> to the end of one block.</summary>
    private static Block CollectBlock(string input, ref int position, bool inHeader, ref bool seenCue)
    {
        var lineCount = 0;
        var previousPosition = position;
        var buffer = new List<string>();
        string? firstLine = null;
        var seenArrow = false;
        var kind = BlockKind.Other;
        double start = 0, end = 0;
        while (true)
        {
            var lineEnd = input.IndexOf('\n', position);
            var seenEof = lineEnd < 0;
            if (seenEof)
            {
                lineEnd = input.Length;
            }

            var line = input.AsSpan(position, lineEnd - position);
            lineCount++;
            firstLine ??= line.ToString();
            position = seenEof ? input.Length : lineEnd + 1;
            if (line.Contains("-->", StringComparison.Ordinal))
            {
                if (!inHeader && (lineCount == 1 || (lineCount == 2 && !seenArrow)))
                {
                    seenArrow = true;
                    previousPosition = position;
                    if (TryParseTimings(line, out start, out end))
                    {
                        kind = BlockKind.Cue;
                        buffer.Clear();
                        seenCue = true;
                    }
                    else
                    {
                        kind = BlockKind.Other;
                    }
                }
                else
                {
                    // A timing line that does not open this block opens the next one.
                    position = previousPosition;
                    break;
                }
            }
            else if (line.IsEmpty)
            {
                break;
            }
            else
            {
                if (!inHeader && lineCount == 2 && !seenCue && buffer.Count == 1)
                {
                    if (IsKeywordOnly(buffer[0], "STYLE"))
                    {
                        kind = BlockKind.Ignored;
                        buffer.Clear();
                    }
                    else if (IsKeywordOnly(buffer[0], "REGION"))
                    {
                        kind = BlockKind.Ignored;
                        buffer.Clear();
                    }
                }

                buffer.Add(line.ToString());
                previousPosition = position;
            }

            if (seenEof)
            {
                break;
            }
        }

        return kind == BlockKind.Cue
            ? new Block(BlockKind.Cue, firstLine, new ParsedCue(start, end, string.Join('\n', buffer)))
            : new Block(kind, firstLine, null);
    }

    /// <summary>True when <paramref name="text"/> is <paramref name="keyword"/> followed only by ASCII white space (STYLE and REGION headers).</summary>
    private static bool IsKeywordOnly(string text, string keyword) =>
        text.StartsWith(keyword, StringComparison.Ordinal) && text.AsSpan(keyword.Length).TrimStart(" \t\n\f\r").IsEmpty;

    /// <summary>True when <paramref name="line"/> is <paramref name="keyword"/> alone or followed by a space, tab or line break (NOTE comments).</summary>
    private static bool IsKeywordLine(string? line, string keyword) =>
        line is not null && line.StartsWith(keyword, StringComparison.Ordinal) && (line.Length == keyword.Length || line[keyword.Length] is ' ' or '\t' or '\n');

    /// <summary>The spec's "collect WebVTT cue timings and settings" (settings not interpreted).</summary>
    internal static bool TryParseTimings(ReadOnlySpan<char> line, out double start, out double end)
    {
        end = 0;
        var position = 0;
        SkipWhiteSpace(line, ref position);
        if (!TryCollectTimestamp(line, ref position, out start))
        {
            return false;
        }

        SkipWhiteSpace(line, ref position);
        if (!line[position..].StartsWith("-->", StringComparison.Ordinal))
        {
            return false;
        }

        position += 3;
        SkipWhiteSpace(line, ref position);
        return TryCollectTimestamp(line, ref position, out end);
    }

    /// <summary>The spec's "collect a WebVTT timestamp": <c>[h…h:]mm:ss.ttt</c>, advancing <paramref name="position"/>.</summary>
    internal static bool TryCollectTimestamp(ReadOnlySpan<char> input, ref int position, out double seconds)
    {
        seconds = 0;
        if (position >= input.Length || !char.IsAsciiDigit(input[position]))
        {
            return false;
        }

        var first = CollectDigits(input, ref position, out var firstDigits);
        var hoursFirst = firstDigits != 2 || first > 59;
        if (position >= input.Length || input[position] != ':')
        {
            return false;
        }

        position++;
        var second = CollectDigits(input, ref position, out var secondDigits);
        if (secondDigits != 2)
        {
            return false;
        }

        double hours, minutes, wholeSeconds;
        if (hoursFirst || (position < input.Length && input[position] == ':'))
        {
            if (position >= input.Length || input[position] != ':')
            {
                return false;
            }

            position++;
            var third = CollectDigits(input, ref position, out var thirdDigits);
            if (thirdDigits != 2)
            {
                return false;
            }

            (hours, minutes, wholeSeconds) = (first, second, third);
        }
        else
        {
            (hours, minutes, wholeSeconds) = (0, first, second);
        }

        if (position >= input.Length || input[position] != '.')
        {
            return false;
        }

        position++;
        var fraction = CollectDigits(input, ref position, out var fractionDigits);
        if (fractionDigits != 3 || minutes > 59 || wholeSeconds > 59)
        {
            return false;
        }

        seconds = (hours * 3600) + (minutes * 60) + wholeSeconds + (fraction / 1000);
        return true;
    }

    /// <summary>Collects ASCII digits as a base-10 value (a double, so any number of digits is read; absurd hours become infinite and the cleaner drops the cue).</summary>
    private static double CollectDigits(ReadOnlySpan<char> input, ref int position, out int digits)
    {
        double value = 0;
        var start = position;
        while (position < input.Length && char.IsAsciiDigit(input[position]))
        {
            value = (value * 10) + (input[position] - '0');
            position++;
        }

        digits = position - start;
        return value;
    }

    private static void SkipWhiteSpace(ReadOnlySpan<char> line, ref int position)
    {
        while (position < line.Length && line[position] is ' ' or '\t' or '\n' or '\f' or '\r')
        {
            position++;
        }
    }

    /// <summary>
    /// Cue text without tags (the spec's cue-text tokenizer: a tag runs from <c>&lt;</c> to <c>&gt;</c> or the end of
    /// the text), split into trimmed non-blank lines; <paramref name="hasTimestampTag"/> is set when a tag is an inline
    /// timestamp.
    /// </summary>
    internal static List<string> TextLines(string cueText, ref bool hasTimestampTag)
    {
        var lines = new List<string>();
        var line = new StringBuilder();
        var index = 0;
        while (index < cueText.Length)
        {
            var c = cueText[index];
            if (c == '<')
            {
                var close = cueText.IndexOf('>', index + 1);
                var tag = close < 0 ? cueText.AsSpan(index + 1) : cueText.AsSpan(index + 1, close - index - 1);
                var tagPosition = 0;
                if (!hasTimestampTag && TryCollectTimestamp(tag, ref tagPosition, out _) && tagPosition == tag.Length)
                {
                    hasTimestampTag = true;
                }

                index = close < 0 ? cueText.Length : close + 1;
                continue;
            }

            if (c == '\n')
            {
                AddLine(lines, line);
            }
            else
            {
                line.Append(c);
            }

            index++;
        }

        AddLine(lines, line);
        return lines;

        static void AddLine(List<string> lines, StringBuilder line)
        {
            var text = line.ToString().Trim();
            if (text.Length > 0)
            {
                lines.Add(text);
            }

            line.Clear();
        }
    }

    private static List<CaptionCue> CollapseRolling(List<ParsedCue> parsed)
    {
        var rolling = false;
        var lines = new List<List<string>>(parsed.Count);
        foreach (var cue in parsed)
        {
            lines.Add(TextLines(cue.Text, ref rolling));
        }

        var cues = new List<CaptionCue>(parsed.Count);
        List<string> previousLines = [];
        var previousEnd = double.NegativeInfinity;
        for (var i = 0; i < parsed.Count; i++)
        {
            var current = lines[i];
            var fresh = rolling && parsed[i].Start <= previousEnd + TouchTolerance ? current[RepeatedLines(previousLines, current)..] : current;
            if (fresh.Count > 0)
            {
                cues.Add(new CaptionCue(parsed[i].Start, parsed[i].End, string.Join(' ', fresh)));
            }

            previousLines = current;
            previousEnd = parsed[i].End;
        }

        return cues;
    }

    /// <summary>The largest m such that the first m lines of <paramref name="current"/> are the last m of <paramref name="previous"/> (rolled up).</summary>
    private static int RepeatedLines(List<string> previous, List<string> current)
    {
        for (var m = Math.Min(MaxRepeatedLines, Math.Min(previous.Count, current.Count)); m > 0; m--)
        {
            var match = true;
            for (var j = 0; j < m && match; j++)
            {
                match = string.Equals(previous[previous.Count - m + j], current[j], StringComparison.Ordinal);
            }

            if (match)
            {
                return m;
            }
        }

        return 0;
    }

    private enum BlockKind
    {
        Other,
        Cue,
        Ignored,
    }

    private readonly record struct ParsedCue(double Start, double End, string Text);

    private readonly record struct Block(BlockKind Kind, string? FirstLine, ParsedCue? Cue);
}

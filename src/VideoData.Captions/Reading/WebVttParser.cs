namespace VideoData.Captions.Reading;

/// <summary>
/// WebVTT cues, with YouTube's rolling auto-captions collapsed so each spoken line appears once.
/// </summary>
/// <remarks>
/// YouTube auto-captions show two lines: the line finished before and the line being spoken (with
/// inline word timings), then a 10 ms cue holding the finished line alone. The rule used here: when
/// a cue starts no later than the previous cue ended (they touch or overlap), each of its lines that
/// equals a line of the previous cue is a repeat and is dropped; the remaining lines, joined by a
/// space, are one cue with this cue's times. Ordinary captions, whose cues do not repeat lines, pass
/// through unchanged (their lines joined).
/// </remarks>
internal static class WebVttParser
{
    private const double TouchTolerance = 0.001;

    public static CaptionTrack Parse(string content)
    {
        var lines = TextLines.Split(content);
        if (lines.Count == 0 || !lines[0].StartsWith("WEBVTT", StringComparison.Ordinal))
        {
            throw new FormatException("not WebVTT: the first line does not start with 'WEBVTT'");
        }

        var cues = new List<CaptionCue>();
        var skipped = 0;
        IReadOnlyList<string> previousLines = [];
        var previousEnd = double.NegativeInfinity;
        var index = SkipBlock(lines, 0);
        while (index < lines.Count)
        {
            if (lines[index].Length == 0)
            {
                index++;
                continue;
            }

            var blockStart = index;
            var blockEnd = SkipBlock(lines, index);
            index = blockEnd;
            var first = lines[blockStart];
            if (IsKeywordBlock(first, "NOTE") || IsKeywordBlock(first, "STYLE") || IsKeywordBlock(first, "REGION"))
            {
                continue;
            }

            var timingLine = first.Contains("-->", StringComparison.Ordinal) ? blockStart : blockStart + 1;
            if (timingLine >= blockEnd || !CueTime.TryParseTiming(lines[timingLine], out var start, out var end))
            {
                skipped++;
                continue;
            }

            var text = new List<string>(blockEnd - timingLine - 1);
            for (var i = timingLine + 1; i < blockEnd; i++)
            {
                var line = Markup.StripTags(lines[i]).Trim();
                if (line.Length > 0)
                {
                    text.Add(line);
                }
            }

            var touches = start <= previousEnd + TouchTolerance;
            var fresh = touches ? text.Where(line => !previousLines.Contains(line)).ToList() : text;
            if (fresh.Count > 0)
            {
                cues.Add(new CaptionCue(start, end, string.Join(' ', fresh)));
            }

            previousLines = text;
            previousEnd = end;
        }

        return new CaptionTrack(CaptionFormat.WebVtt, cues, skipped);
    }

    private static bool IsKeywordBlock(string line, string keyword) =>
        line.StartsWith(keyword, StringComparison.Ordinal) && (line.Length == keyword.Length || line[keyword.Length] is ' ' or '\t');

    private static int SkipBlock(IReadOnlyList<string> lines, int index)
    {
        while (index < lines.Count && lines[index].Length > 0)
        {
            index++;
        }

        return index;
    }
}

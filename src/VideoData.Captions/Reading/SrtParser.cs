namespace VideoData.Captions.Reading;

/// <summary>
/// SubRip cues, read line by line so that missing blank lines and missing or wrong sequence
/// numbers lose nothing: a timing line starts a cue (ending the one before), a line of digits just
/// before a timing line is a sequence number, a blank line ends the cue, and the non-blank lines in
/// between are its text (joined by spaces, tags removed). Lines outside any cue (after a blank line
/// but with no valid timing line, e.g. a malformed one) make one skipped cue per block.
/// </summary>
internal static class SrtParser
{
    public static CaptionTrack Parse(string content)
    {
        var lines = TextLines.Split(content);
        var cues = new List<CaptionCue>();
        var skipped = 0;
        var orphanCounted = false;
        double start = 0, end = 0;
        List<string>? text = null;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                Flush();
                orphanCounted = false;
                continue;
            }

            if (line.Contains("-->", StringComparison.Ordinal))
            {
                Flush();
                orphanCounted = false;
                if (CueTime.TryParseTiming(line, out start, out end))
                {
                    text = [];
                }
                else
                {
                    skipped++;
                    orphanCounted = true;
                }

                continue;
            }

            if (IsSequenceNumber(line) && i + 1 < lines.Count && lines[i + 1].Contains("-->", StringComparison.Ordinal))
            {
                continue;
            }

            if (text is not null)
            {
                var stripped = Markup.StripTags(line).Trim();
                if (stripped.Length > 0)
                {
                    text.Add(stripped);
                }
            }
            else if (!orphanCounted)
            {
                skipped++;
                orphanCounted = true;
            }
        }

        Flush();
        if (cues.Count == 0 && skipped == 0)
        {
            throw new FormatException("no SRT cue (no 'start --> end' timing line) found");
        }

        return new CaptionTrack(CaptionFormat.Srt, cues, skipped);

        void Flush()
        {
            if (text is { Count: > 0 })
            {
                cues.Add(new CaptionCue(start, end, string.Join(' ', text)));
            }

            text = null;
        }
    }

    private static bool IsSequenceNumber(string line)
    {
        foreach (var c in line)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}

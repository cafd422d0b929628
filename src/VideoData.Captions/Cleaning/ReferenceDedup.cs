using System.Runtime.CompilerServices;

namespace VideoData.Captions.Cleaning;

/// <summary>
/// The reference caption dedup (VideoCLIP / MMPT, DESIGN §3), applied to one video's cues in order.
/// </summary>
/// <remarks>
/// For each cue after the first, against the last output segment: if the segment's text ends with
/// the cue's text, the segment's end is extended; else if the cue's text starts with the segment's,
/// the segment takes the cue's text and the union of both time spans; else, if a prefix of the cue's
/// text is a suffix of the segment's (the shortest such prefix, compared ordinally by character), a
/// coin decides: heads appends only the cue's remaining text, starting at
/// max(segment end, cue start); tails trims the overlap off the segment (removing it when nothing
/// is left) and appends the whole cue. Otherwise the cue is appended as it is.
/// One deliberate difference: when tails trims a segment that started after the cue (possible
/// after heads moved a remainder's start forward), the reference sets an end before the start and
/// fails its own assertion; here the trimmed segment's end is kept at no earlier than its start.
/// </remarks>
internal static class ReferenceDedup
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static List<TimedText> Apply<TCoin>(List<TimedText> cues, ref TCoin coin)
        where TCoin : struct, IDedupCoin
    {
        var output = new List<TimedText>(cues.Count);
        foreach (var cue in cues)
        {
            if (output.Count == 0)
            {
                output.Add(cue);
                continue;
            }

            var last = output.Count - 1;
            var previous = output[last];
            if (previous.Text.EndsWith(cue.Text, StringComparison.Ordinal))
            {
                previous.End = Math.Max(previous.End, cue.End);
                output[last] = previous;
                continue;
            }

            if (cue.Text.StartsWith(previous.Text, StringComparison.Ordinal))
            {
                previous.Text = cue.Text;
                previous.Start = Math.Min(previous.Start, cue.Start);
                previous.End = Math.Max(previous.End, cue.End);
                output[last] = previous;
                continue;
            }

            var overlap = ShortestOverlap(previous.Text, cue.Text);
            if (overlap == 0)
            {
                output.Add(cue);
                continue;
            }

            if (coin.Flip())
            {
                previous.End = Math.Max(previous.End, cue.Start);
                output[last] = previous;
                var rest = cue.Text[overlap..].Trim();
                if (rest.Length > 0)
                {
                    var start = Math.Max(previous.End, cue.Start);
                    output.Add(new TimedText(start, Math.Max(cue.End, start), rest));
                }
            }
            else
            {
                var left = previous.Text[..^overlap].Trim();
                if (left.Length > 0)
                {
                    previous.End = Math.Max(previous.Start, Math.Min(previous.End, cue.Start));
                    previous.Text = left;
                    output[last] = previous;
                }
                else
                {
                    output.RemoveAt(last);
                }

                output.Add(cue);
            }
        }

        return output;
    }

    /// <summary>Length of the shortest prefix of <paramref name="current"/> that <paramref name="previous"/> ends with, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ShortestOverlap(string previous, string current)
    {
        var limit = Math.Min(previous.Length, current.Length);
        var first = current[0];
        for (var length = 1; length <= limit; length++)
        {
            if (previous[^length] == first && previous.AsSpan(previous.Length - length).SequenceEqual(current.AsSpan(0, length)))
            {
                return length;
            }
        }

        return 0;
    }
}

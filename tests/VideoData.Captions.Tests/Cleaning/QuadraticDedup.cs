using System.Runtime.CompilerServices;
using VideoData.Captions.Cleaning;

namespace VideoData.Captions.Tests.Cleaning;

/// <summary>
/// The reference dedup as it was before the prefix-function overlap search: a character-by-character
/// search of every suffix against every prefix (quadratic in the text length). Kept verbatim as the
/// oracle that <see cref="ReferenceDedup"/> must reproduce exactly (property tests, the generated
/// corpus, infra/bench/CaptionsBench).
/// </summary>
internal static class QuadraticDedup
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

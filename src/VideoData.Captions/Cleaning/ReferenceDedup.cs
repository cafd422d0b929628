using System.Buffers;
using System.Runtime.CompilerServices;

namespace VideoData.Captions.Cleaning;

/// <summary>
/// The reference caption dedup (VideoCLIP / MMPT, DESIGN §3), applied to one video's cues in order,
/// and its whole-word variant (<see cref="DedupMode.Words"/>).
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
/// <para>
/// Invariants: the work per cue is linear in the lengths of the two texts (a budgeted direct search,
/// then a prefix function, <see cref="ShortestOverlap"/>), so a hostile file costs time in proportion to its
/// size; with <c>wholeWords</c> false the output is exactly the reference rule's (the quadratic
/// search it replaced is kept in the tests and compared on every property case and a generated
/// corpus); with <c>wholeWords</c> true an overlap (and the "previous ends with current" merge) is
/// only taken where it covers whole words on both sides, so no segment is cut inside a word. The
/// "current starts with previous" merge keeps the whole of the current text and cuts nothing, so it
/// applies in both modes. Texts are expected trimmed, as the cleaner leaves them.
/// </para>
/// </remarks>
internal static class ReferenceDedup
{
    // Prefix-function tables up to this many entries live on the stack; longer cues rent one.
    private const int StackTableLimit = 256;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static List<TimedText> Apply<TCoin>(List<TimedText> cues, ref TCoin coin, bool wholeWords = false)
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
            if (previous.Text.EndsWith(cue.Text, StringComparison.Ordinal)
                && (!wholeWords || StartsWord(previous.Text, previous.Text.Length - cue.Text.Length)))
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

            var overlap = ShortestOverlap(previous.Text, cue.Text, wholeWords);
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

    /// <summary>
    /// Length of the shortest prefix of <paramref name="current"/> that <paramref name="previous"/>
    /// ends with (compared by UTF-16 code unit, as the reference compares characters), or 0. With
    /// <paramref name="wholeWords"/>, only a prefix that ends at a word boundary of
    /// <paramref name="current"/> and starts at one in <paramref name="previous"/> counts.
    /// </summary>
    /// <remarks>
    /// Time O(|current|). Real captions are short and rarely overlap in more than a few places, so the
    /// direct search (each candidate length in increasing order, compared as a span) is tried first,
    /// with a budget of character comparisons linear in |current|; past the budget (repetitive,
    /// adversarial text) the prefix-function search answers instead. Both give the same length.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ShortestOverlap(string previous, string current, bool wholeWords = false)
    {
        if (current.Length == 0 || previous.Length == 0)
        {
            return 0;
        }

        var budget = (4L * current.Length) + 64;
        var limit = Math.Min(previous.Length, current.Length);
        var first = current[0];
        for (var length = 1; length <= limit; length++)
        {
            if (previous[^length] != first
                || (wholeWords && !(EndsWord(current, length) && StartsWord(previous, previous.Length - length))))
            {
                continue;
            }

            budget -= length;
            if (budget < 0)
            {
                return PrefixFunctionOverlap(previous, current, wholeWords);
            }

            if (previous.AsSpan(previous.Length - length).SequenceEqual(current.AsSpan(0, length)))
            {
                return length;
            }
        }

        return 0;
    }

    /// <summary>
    /// <see cref="ShortestOverlap"/> by the prefix function alone, in O(|current|) whatever the text: the prefix
    /// function of <paramref name="current"/> is matched against the last |current| characters of
    /// <paramref name="previous"/> (no longer overlap exists); the final state is the longest prefix that is a
    /// suffix of <paramref name="previous"/>, and following the prefix function from it visits every shorter one,
    /// in decreasing length.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int PrefixFunctionOverlap(string previous, string current, bool wholeWords = false)
    {
        var length = current.Length;
        if (length == 0 || previous.Length == 0)
        {
            return 0;
        }

        int[]? rented = null;
        var table = length <= StackTableLimit
            ? stackalloc int[StackTableLimit]
            : (rented = ArrayPool<int>.Shared.Rent(length));
        try
        {
            var pattern = current.AsSpan();
            PrefixFunction(pattern, table);
            var text = previous.AsSpan(previous.Length - Math.Min(previous.Length, length));
            var state = 0;
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (state == length)
                {
                    state = table[state - 1];
                }

                while (state > 0 && pattern[state] != c)
                {
                    state = table[state - 1];
                }

                if (pattern[state] == c)
                {
                    state++;
                }
            }

            var shortest = 0;
            for (var candidate = state; candidate > 0; candidate = table[candidate - 1])
            {
                if (!wholeWords || (EndsWord(current, candidate) && StartsWord(previous, previous.Length - candidate)))
                {
                    shortest = candidate;
                }
            }

            return shortest;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>table[i] = length of the longest proper prefix of pattern[..(i+1)] that is also its suffix.</summary>
    private static void PrefixFunction(ReadOnlySpan<char> pattern, Span<int> table)
    {
        table[0] = 0;
        var k = 0;
        for (var i = 1; i < pattern.Length; i++)
        {
            var c = pattern[i];
            while (k > 0 && pattern[k] != c)
            {
                k = table[k - 1];
            }

            if (pattern[k] == c)
            {
                k++;
            }

            table[i] = k;
        }
    }

    /// <summary>True when a word of <paramref name="text"/> starts at <paramref name="index"/> (start of text or after white space).</summary>
    private static bool StartsWord(string text, int index) => index == 0 || char.IsWhiteSpace(text[index - 1]);

    /// <summary>True when a word of <paramref name="text"/> ends just before <paramref name="index"/> (end of text or white space next).</summary>
    private static bool EndsWord(string text, int index) => index == text.Length || char.IsWhiteSpace(text[index]);
}

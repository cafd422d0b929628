using VideoData.Captions.Cleaning;

namespace VideoData.Captions.Tests.Cleaning;

public sealed class ReferenceDedupTests
{
    private static List<(double, double, string)> Dedup(bool[] flips, params (double Start, double End, string Text)[] cues)
    {
        var coin = new ScriptedCoin(flips);
        var output = ReferenceDedup.Apply([.. cues.Select(cue => new TimedText(cue.Start, cue.End, cue.Text))], ref coin);
        Assert.Equal(flips.Length, coin.Used);
        return [.. output.Select(item => (item.Start, item.End, item.Text))];
    }

    [Fact]
    public void Apply_CurrentIsSuffixOfPrevious_ExtendsPreviousEnd()
    {
        Assert.Equal([(0.0, 3.0, "a b c")], Dedup([], (0, 2, "a b c"), (1, 3, "b c")));
    }

    [Fact]
    public void Apply_CurrentExtendsPrevious_ReplacesTextAndWidensSpan()
    {
        Assert.Equal([(0.0, 4.0, "a b c d")], Dedup([], (1, 2, "a b"), (0, 4, "a b c d")));
    }

    [Fact]
    public void Apply_PartialOverlapHeads_AppendsOnlyTheRemainder()
    {
        // Shortest prefix of the current text that ends the previous one: "the onion" (9 characters).
        Assert.Equal(
            [(0.0, 2.0, "we cut the onion"), (2.0, 4.0, "into rings")],
            Dedup([true], (0, 2, "we cut the onion"), (1.5, 4, "the onion into rings")));
    }

    [Fact]
    public void Apply_PartialOverlapTails_TrimsPreviousAndAppendsCurrent()
    {
        Assert.Equal(
            [(0.0, 1.5, "we cut"), (1.5, 4.0, "the onion into rings")],
            Dedup([false], (0, 2, "we cut the onion"), (1.5, 4, "the onion into rings")));
    }

    [Fact]
    public void Apply_OverlapIsOneWord_TailsKeepsTheRestOfPrevious()
    {
        Assert.Equal([(0.0, 1.0, "x"), (1.0, 3.0, "b c d")], Dedup([false], (0, 2, "x b"), (1, 3, "b c d")));
    }

    [Fact]
    public void Apply_OverlapIsCharacterLevel_LikeTheReference()
    {
        // The reference compares characters, not words: "t" ends "the cat" and starts "to go".
        Assert.Equal([(0.0, 2.0, "the cat"), (2.0, 3.0, "o go")], Dedup([true], (0, 2, "the cat"), (1, 3, "to go")));
        Assert.Equal([(0.0, 1.0, "the ca"), (1.0, 3.0, "to go")], Dedup([false], (0, 2, "the cat"), (1, 3, "to go")));
    }

    [Fact]
    public void Apply_TailsAfterAMovedRemainder_NeverEndsBeforeStart()
    {
        // Heads moves "p q" to start at 5; the next cue starts at 4 and tails trims "p q" to "p":
        // the reference would set its end to 4 (< 5) and fail its own assertion; we keep 5.
        Assert.Equal(
            [(0.0, 5.0, "x o"), (5.0, 5.0, "p"), (4.0, 7.0, "q r")],
            Dedup([true, false], (0, 5, "x o"), (3, 6, "o p q"), (4, 7, "q r")));
    }

    [Fact]
    public void Apply_NoOverlap_AppendsAsIs()
    {
        Assert.Equal([(0.0, 1.0, "abc"), (5.0, 6.0, "xyz")], Dedup([], (0, 1, "abc"), (5, 6, "xyz")));
    }

    private struct ScriptedCoin(bool[] flips) : IDedupCoin
    {
        public int Used { get; private set; }

        public bool Flip() => flips[Used++];
    }
}

using VideoData.Captions.Cleaning;

namespace VideoData.Captions.Tests.Cleaning;

public sealed class ReferenceDedupTests
{
    private static List<(double, double, string)> Dedup(bool[] flips, params (double Start, double End, string Text)[] cues) => Dedup(false, flips, cues);

    private static List<(double, double, string)> Dedup(bool wholeWords, bool[] flips, params (double Start, double End, string Text)[] cues)
    {
        var coin = new ScriptedCoin(flips);
        var output = ReferenceDedup.Apply([.. cues.Select(cue => new TimedText(cue.Start, cue.End, cue.Text))], ref coin, wholeWords);
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

    [Fact]
    public void Apply_WholeWords_CharacterOverlapInsideAWord_IsNotMerged()
    {
        // The reference cuts "add a pinch of salt" / "then heat the pan" at the shared "t" on either coin side.
        Assert.Equal([(0.0, 2.0, "add a pinch of salt"), (2.0, 3.0, "hen heat the pan")], Dedup([true], (0, 2, "add a pinch of salt"), (1, 3, "then heat the pan")));
        Assert.Equal([(0.0, 1.0, "add a pinch of sal"), (1.0, 3.0, "then heat the pan")], Dedup([false], (0, 2, "add a pinch of salt"), (1, 3, "then heat the pan")));
        Assert.Equal(
            [(0.0, 2.0, "add a pinch of salt"), (1.0, 3.0, "then heat the pan")],
            Dedup(true, [], (0, 2, "add a pinch of salt"), (1, 3, "then heat the pan")));
    }

    [Fact]
    public void Apply_WholeWords_WholeWordOverlap_MergedLikeTheReferenceOnBothCoinSides()
    {
        Assert.Equal(
            [(0.0, 2.0, "we cut the onion"), (2.0, 4.0, "into rings")],
            Dedup(true, [true], (0, 2, "we cut the onion"), (1.5, 4, "the onion into rings")));
        Assert.Equal(
            [(0.0, 1.5, "we cut"), (1.5, 4.0, "the onion into rings")],
            Dedup(true, [false], (0, 2, "we cut the onion"), (1.5, 4, "the onion into rings")));
    }

    [Fact]
    public void Apply_WholeWords_ShortestWholeWordOverlapWins_NotTheShortestCharacterOne()
    {
        // Character rule: "a" (1 character); whole words: "aa" (the first word of the cue).
        Assert.Equal([(0.0, 2.0, "x aa"), (2.0, 3.0, "a aa y")], Dedup([true], (0, 2, "x aa"), (1, 3, "aa aa y")));
        Assert.Equal([(0.0, 2.0, "x aa"), (2.0, 3.0, "aa y")], Dedup(true, [true], (0, 2, "x aa"), (1, 3, "aa aa y")));
    }

    [Fact]
    public void Apply_WholeWords_PreviousEndsWithPartOfAWord_IsNotAbsorbed()
    {
        // The reference drops "at" as a repeat of the end of "the cat"; as whole words it is new text.
        Assert.Equal([(0.0, 3.0, "the cat")], Dedup([], (0, 2, "the cat"), (1, 3, "at")));
        Assert.Equal([(0.0, 2.0, "the cat"), (1.0, 3.0, "at")], Dedup(true, [], (0, 2, "the cat"), (1, 3, "at")));
        Assert.Equal([(0.0, 3.0, "the cat")], Dedup(true, [], (0, 2, "the cat"), (1, 3, "cat")));
    }

    [Fact]
    public void Apply_WholeWords_CurrentExtendsPrevious_StillTakesTheLongerText()
    {
        // Nothing is cut: the whole of the current text replaces the previous one, as in the reference.
        Assert.Equal([(0.0, 4.0, "the ca the cat")], Dedup(true, [], (0, 2, "the ca"), (1, 4, "the ca the cat")));
        Assert.Equal([(0.0, 4.0, "the cat sat")], Dedup(true, [], (0, 2, "the ca"), (1, 4, "the cat sat")));
    }

    private struct ScriptedCoin(bool[] flips) : IDedupCoin
    {
        public int Used { get; private set; }

        public bool Flip() => flips[Used++];
    }
}

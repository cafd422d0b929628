namespace VideoData.Training.Sampling;

/// <summary>
/// Token dropout at batch assembly (Turbo Training): a fraction p of each clip's video seconds is dropped before the
/// clip reaches the model. Invariants: the kept seconds stay in their order; at least one is kept; exactly
/// <see cref="KeptTokens"/>(n, p) of a clip's n seconds are kept; which ones is decided by the generator keyed by
/// (seed, epoch, "token-dropout", video id), drawn clip by clip in the order the sampler returns them, so a plan's
/// batches repeat bit for bit on any worker; the model gets each kept second's original position and a mask, so it
/// attends to the kept seconds only and knows where they were.
/// </summary>
internal static class TokenDropout
{
    /// <summary>Purpose label of the generator that chooses the dropped seconds.</summary>
    public const string Purpose = "token-dropout";

    /// <summary>Seconds kept of a clip of <paramref name="rows"/> seconds: <c>max(1, n − ⌊p·n⌋)</c> (0 for an empty clip).</summary>
    public static int KeptTokens(int rows, double p)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        Check(p);
        return rows == 0 ? 0 : Math.Max(1, rows - (int)Math.Floor(p * rows));
    }

    /// <summary>The generator for the clips of <paramref name="videoId"/> in (<paramref name="seed"/>, <paramref name="epoch"/>).</summary>
    public static DeterministicRandom Random(long seed, int epoch, string videoId) => DeterministicRandom.For(seed, epoch, Purpose, videoId);

    /// <summary>The kept row indices (ascending) of a clip of <paramref name="rows"/> seconds, drawn from <paramref name="rng"/>.</summary>
    public static int[] Choose(int rows, double p, DeterministicRandom rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var keep = KeptTokens(rows, p);
        var indices = new int[rows];
        for (var i = 0; i < rows; i++)
        {
            indices[i] = i;
        }

        // A partial Fisher–Yates: the first `keep` slots are a uniform sample without replacement.
        for (var i = 0; i < keep; i++)
        {
            var j = rng.NextInt(i, rows - 1);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }

        var kept = indices[..keep];
        Array.Sort(kept);
        return kept;
    }

    internal static void Check(double p)
    {
        if (!(p is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Token dropout {p} must be in [0, 1): at least one second of every clip is kept.");
        }
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace VideoData.Training.Sampling;

/// <summary>
/// A small, fast generator (xoshiro256**) whose state is the SHA-256 of a key built from the run
/// seed, the epoch, a purpose label and (usually) a video id. Two generators made from the same key
/// produce the same sequence on any machine, in any process, in any order: that is what lets any
/// batch of any epoch be regenerated bit for bit. Not thread-safe; make one per unit of work.
/// </summary>
internal sealed class DeterministicRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    private DeterministicRandom(ReadOnlySpan<byte> digest)
    {
        _s0 = BinaryPrimitives.ReadUInt64LittleEndian(digest);
        _s1 = BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]);
        _s2 = BinaryPrimitives.ReadUInt64LittleEndian(digest[16..]);
        _s3 = BinaryPrimitives.ReadUInt64LittleEndian(digest[24..]);
        if ((_s0 | _s1 | _s2 | _s3) == 0)
        {
            // xoshiro's one forbidden state; SHA-256 practically never yields it, but never is cheap.
            _s0 = 0x9E3779B97F4A7C15UL;
        }
    }

    /// <summary>
    /// The generator for (<paramref name="seed"/>, <paramref name="epoch"/>, <paramref name="purpose"/>,
    /// <paramref name="key"/>). <paramref name="purpose"/> separates independent uses (clip sampling,
    /// plan shuffling) so they never share a stream.
    /// </summary>
    public static DeterministicRandom For(long seed, int epoch, string purpose, string key)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        ArgumentNullException.ThrowIfNull(key);
        var text = Encoding.UTF8.GetBytes(purpose + "\0" + key);
        var material = new byte[12 + text.Length];
        BinaryPrimitives.WriteInt64LittleEndian(material, seed);
        BinaryPrimitives.WriteInt32LittleEndian(material.AsSpan(8), epoch);
        text.CopyTo(material.AsSpan(12));
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(material, digest);
        return new DeterministicRandom(digest);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform integer in [<paramref name="minInclusive"/>, <paramref name="maxInclusive"/>], without modulo bias.</summary>
    public int NextInt(int minInclusive, int maxInclusive)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minInclusive, maxInclusive);
        var range = (ulong)((long)maxInclusive - minInclusive) + 1;
        // Rejection sampling on the top bits: unbiased and exact on every platform.
        var limit = ulong.MaxValue - (ulong.MaxValue % range) - 1;
        ulong draw;
        do
        {
            draw = NextUInt64();
        }
        while (draw > limit);
        return (int)(minInclusive + (long)(draw % range));
    }

    /// <summary>A fair coin.</summary>
    public bool NextBool() => (NextUInt64() >> 63) != 0;

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = NextInt(0, i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}

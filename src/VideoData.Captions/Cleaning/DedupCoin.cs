using System.Text;

namespace VideoData.Captions.Cleaning;

/// <summary>
/// The reference dedup's fair coin, made reproducible: a SplitMix64 sequence whose state starts at
/// <c>mix(seed) XOR fnv1a64(utf8(videoId))</c>. A flip is heads when the next 53-bit double is
/// &gt; 0.5, as the reference's <c>random.random() &gt; 0.5</c>. Short enough to reimplement in
/// another language (infra/bench/captions_peer.py does) to compare outputs.
/// </summary>
internal struct DedupCoin : IDedupCoin
{
    private ulong _state;

    public DedupCoin(ulong seed, string videoId)
    {
        var hash = 0xCBF29CE484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(videoId))
        {
            hash = (hash ^ b) * 0x100000001B3UL;
        }

        _state = Mix(seed) ^ hash;
    }

    /// <summary>True when the reference would append only the remainder of the current text.</summary>
    public bool Flip() => (Next() >> 11) * (1.0 / (1UL << 53)) > 0.5;

    private ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>The coin the reference dedup flips (an interface so tests can script the flips).</summary>
internal interface IDedupCoin
{
    /// <summary>True (heads): append only the remainder of the current text; false: trim the previous segment.</summary>
    bool Flip();
}

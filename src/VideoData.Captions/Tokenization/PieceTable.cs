using System.Runtime.CompilerServices;

namespace VideoData.Captions.Tokenization;

/// <summary>
/// A read-only map from vocabulary pieces to ids, looked up by a span of characters: open addressing
/// with each entry's full hash kept beside it, so a probe compares characters only on a hash match.
/// </summary>
/// <remarks>
/// Tokenization looks up every word of every segment; this avoids the interface dispatch and
/// comparer of a <see cref="Dictionary{TKey, TValue}"/> alternate lookup. Safe for concurrent readers.
/// </remarks>
internal sealed class PieceTable
{
    private readonly int[] _slots;
    private readonly uint[] _hashes;
    private readonly string[] _keys;
    private readonly int[] _ids;
    private readonly int _mask;

    /// <summary>Builds the table; the first id given for a key wins, as <see cref="Dictionary{TKey, TValue}.TryAdd"/> would.</summary>
    public PieceTable(IReadOnlyList<(string Key, int Id)> entries)
    {
        var capacity = 16;
        while (capacity < entries.Count * 2)
        {
            capacity *= 2;
        }

        _mask = capacity - 1;
        _slots = new int[capacity];
        Array.Fill(_slots, -1);
        _hashes = new uint[entries.Count];
        _keys = new string[entries.Count];
        _ids = new int[entries.Count];
        var count = 0;
        foreach (var (key, id) in entries)
        {
            var hash = Hash(key);
            var slot = (int)hash & _mask;
            var duplicate = false;
            while (_slots[slot] >= 0)
            {
                var entry = _slots[slot];
                if (_hashes[entry] == hash && string.Equals(_keys[entry], key, StringComparison.Ordinal))
                {
                    duplicate = true;
                    break;
                }

                slot = (slot + 1) & _mask;
            }

            if (!duplicate)
            {
                (_hashes[count], _keys[count], _ids[count]) = (hash, key, id);
                _slots[slot] = count++;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetValue(ReadOnlySpan<char> key, out int id)
    {
        var hash = Hash(key);
        for (var slot = (int)hash & _mask; ; slot = (slot + 1) & _mask)
        {
            var entry = _slots[slot];
            if (entry < 0)
            {
                id = -1;
                return false;
            }

            if (_hashes[entry] == hash && key.SequenceEqual(_keys[entry]))
            {
                id = _ids[entry];
                return true;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(ReadOnlySpan<char> key)
    {
        // FNV-1a over the UTF-16 units, folded to 32 bits: the vocabulary is fixed, so no flooding concern.
        var hash = 0xCBF29CE484222325UL;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 0x100000001B3UL;
        }

        return (uint)(hash ^ (hash >> 32));
    }
}

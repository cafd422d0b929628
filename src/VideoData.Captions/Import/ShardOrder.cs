using System.Runtime.CompilerServices;
using System.Text;
using VideoData.Storage.Sharding;

namespace VideoData.Captions.Import;

/// <summary>
/// The shard order of <see cref="ShardPlanner"/> (its <see cref="ShardPlanner.OrderKey"/>, ties by
/// ordinal id) over the ids of a caption file, held compactly and tolerant of duplicate ids.
/// </summary>
/// <remarks>
/// <see cref="ShardPlanner.Plan"/> keeps every id as a string and rejects duplicates (manifests are
/// validated first); a caption file is neither small nor validated, so this keeps per video an
/// 8-byte key, the id's UTF-8 bytes and two ints (about 30 MB for HowTo100M's 1.2 M videos), and
/// resolves a duplicate id as JSON does (the last one wins).
/// </remarks>
internal sealed class ShardOrder
{
    private readonly List<ulong> _keys = [];
    private readonly List<int> _excluded = [];
    private readonly List<int> _idStarts = [];
    private byte[] _idBytes = new byte[1 << 16];
    private int _idLength;

    /// <summary>Number of ids added.</summary>
    public int Count => _keys.Count;

    /// <summary>Adds the next id (ids are numbered in the order added, from 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(string videoId)
    {
        var byteCount = Encoding.UTF8.GetByteCount(videoId);
        if (_idLength + byteCount > _idBytes.Length)
        {
            Array.Resize(ref _idBytes, Math.Max(_idBytes.Length * 2, _idLength + byteCount));
        }

        Encoding.UTF8.GetBytes(videoId, _idBytes.AsSpan(_idLength));
        _idStarts.Add(_idLength);
        _idLength += byteCount;
        _keys.Add(ShardPlanner.OrderKey(videoId));
    }

    /// <summary>Adds a slot that gets no rank (an entry whose id could not be read), keeping numbering aligned.</summary>
    public void AddExcluded()
    {
        _excluded.Add(Count);
        Add(string.Empty);
    }

    /// <summary>
    /// The position of every added id in shard order (-1 for an excluded slot and for an id that occurs
    /// again later: the later one is used, as a JSON object's last duplicate key is), and the number of distinct ids.
    /// </summary>
    public (int[] Ranks, int Distinct) Rank()
    {
        var ranks = new int[Count];
        foreach (var index in _excluded)
        {
            ranks[index] = -1;
        }

        var order = new int[Count - _excluded.Count];
        for (int i = 0, next = 0; i < Count; i++)
        {
            if (ranks[i] == 0)
            {
                order[next++] = i;
            }
        }

        Array.Sort(order, Compare);
        var rank = 0;
        for (var i = 0; i < order.Length; i++)
        {
            var duplicateOfNext = i + 1 < order.Length && _keys[order[i]] == _keys[order[i + 1]] && IdBytes(order[i]).SequenceEqual(IdBytes(order[i + 1]));
            ranks[order[i]] = duplicateOfNext ? -1 : rank++;
        }

        return (ranks, rank);
    }

    private int Compare(int left, int right)
    {
        var byKey = _keys[left].CompareTo(_keys[right]);
        if (byKey != 0)
        {
            return byKey;
        }

        var byId = string.CompareOrdinal(Encoding.UTF8.GetString(IdBytes(left)), Encoding.UTF8.GetString(IdBytes(right)));

        // Equal ids sort by position, so the last occurrence ends each run of duplicates.
        return byId != 0 ? byId : left.CompareTo(right);
    }

    private ReadOnlySpan<byte> IdBytes(int index)
    {
        var start = _idStarts[index];
        var end = index + 1 < _idStarts.Count ? _idStarts[index + 1] : _idLength;
        return _idBytes.AsSpan(start, end - start);
    }
}

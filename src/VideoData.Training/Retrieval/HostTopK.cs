using System.Collections.Concurrent;
using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace VideoData.Training.Retrieval;

/// <summary>
/// The CPU top-k: libtorch writes each distance tile straight into a managed buffer, and a
/// vectorized scan compares it against each query's current k-th best, touching a per-query heap
/// only for the rare value that beats it. Tiles arrive in increasing database row, and rows within a
/// tile are scanned in increasing order, so a candidate that merely equals the k-th best is always
/// the larger row and is rightly skipped: a strict "less than" gives exact ties-by-row semantics.
/// </summary>
/// <remarks>
/// libtorch's topk has no order among equal values and would need a copy of every tile into
/// (value, index) pairs; this scan reads each tile once, while it is still in cache.
/// </remarks>
internal sealed class HostTopK : ITopKSelector
{
    private readonly int[] _queries;
    private readonly int _k;
    private readonly long _tileFloats;
    private readonly ConcurrentBag<float[]> _tiles = [];
    private readonly float[] _bias;
    private readonly float[] _values;
    private readonly int[] _rows;

    internal HostTopK(int[] queries, int k, TilePlan plan)
    {
        _queries = queries;
        _k = k;
        _tileFloats = (long)plan.QueryRows * plan.DatabaseRows;
        _bias = new float[plan.DatabaseRows];
        _values = new float[(long)queries.Length * k];
        _rows = new int[(long)queries.Length * k];
        Array.Fill(_values, float.PositiveInfinity);
        Array.Fill(_rows, int.MaxValue);
    }

    /// <summary>Query tiles of one database tile may be accepted concurrently: each has its own buffer and its own queries' heaps.</summary>
    public bool ConcurrentQueryTiles => true;

    public void BeginDatabaseTile(Tensor bias) =>
        torch.frombuffer(_bias, ScalarType.Float32, bias.shape[0], 0).copy_(bias);

    public void Accept(Tensor queries, Tensor transposed, Tensor bias, float alpha, int queryStart, int databaseStart, CancellationToken cancellationToken)
    {
        var queryRows = (int)queries.shape[0];
        var databaseRows = (int)transposed.shape[1];
        if (!_tiles.TryTake(out var buffer))
        {
            buffer = new float[_tileFloats];
        }

        try
        {
            using (var tile = torch.frombuffer(buffer, ScalarType.Float32, (long)queryRows * databaseRows, 0))
            {
                tile.view(queryRows, databaseRows).addmm_(queries, transposed, 0f, alpha);
            }

            // The scan runs on the thread that made the tile, while the tile is still in its core's cache.
            for (var r = 0; r < queryRows; r++)
            {
                Scan(buffer.AsSpan(r * databaseRows, databaseRows), queryStart + r, databaseStart);
            }
        }
        finally
        {
            _tiles.Add(buffer);
        }
    }

    public (int[] Neighbours, float[] Scores) Finish()
    {
        var neighbours = new int[_rows.Length];
        var scores = new float[_values.Length];
        var order = new (float Value, int Row)[_k];
        for (var q = 0; q < _queries.Length; q++)
        {
            for (var j = 0; j < _k; j++)
            {
                order[j] = (_values[(q * _k) + j], _rows[(q * _k) + j]);
            }

            Array.Sort(order, static (a, b) => a.Value != b.Value ? a.Value.CompareTo(b.Value) : a.Row.CompareTo(b.Row));
            for (var j = 0; j < _k; j++)
            {
                scores[(q * _k) + j] = order[j].Value;
                neighbours[(q * _k) + j] = order[j].Row;
            }
        }

        return (neighbours, scores);
    }

    private void Scan(Span<float> tile, int query, int databaseStart)
    {
        var self = _queries[query] - databaseStart;
        if ((uint)self < (uint)tile.Length)
        {
            tile[self] = float.PositiveInfinity;
        }

        var values = _values.AsSpan(query * _k, _k);
        var rows = _rows.AsSpan(query * _k, _k);
        ReadOnlySpan<float> bias = _bias.AsSpan(0, tile.Length);
        var threshold = values[0];
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<float>.Count;
            var limit = new Vector<float>(threshold);
            for (; j <= tile.Length - width; j += width)
            {
                var scores = new Vector<float>(tile[j..]) + new Vector<float>(bias[j..]);
                if (!Vector.LessThanAny(scores, limit))
                {
                    continue;
                }

                for (var lane = 0; lane < width; lane++)
                {
                    if (scores[lane] < threshold)
                    {
                        threshold = Replace(values, rows, scores[lane], databaseStart + j + lane);
                    }
                }

                limit = new Vector<float>(threshold);
            }
        }

        for (; j < tile.Length; j++)
        {
            var score = tile[j] + bias[j];
            if (score < threshold)
            {
                threshold = Replace(values, rows, score, databaseStart + j);
            }
        }
    }

    /// <summary>Replaces the root of a max-heap ordered by (value, row) and restores the heap; returns the new root value.</summary>
    private static float Replace(Span<float> values, Span<int> rows, float value, int row)
    {
        var k = values.Length;
        var position = 0;
        while (true)
        {
            var child = (2 * position) + 1;
            if (child >= k)
            {
                break;
            }

            var right = child + 1;
            if (right < k && Above(values[right], rows[right], values[child], rows[child]))
            {
                child = right;
            }

            if (!Above(values[child], rows[child], value, row))
            {
                break;
            }

            values[position] = values[child];
            rows[position] = rows[child];
            position = child;
        }

        values[position] = value;
        rows[position] = row;
        return values[0];
    }

    private static bool Above(float value, int row, float otherValue, int otherRow) =>
        value > otherValue || (value == otherValue && row > otherRow);
}

using TorchSharp;
using static TorchSharp.torch;

namespace VideoData.Training.Retrieval;

/// <summary>
/// The device top-k: the running top-k of each query stays on the device, sorted by (score, row); each
/// tile is appended after it and the k first of a stable sort are kept. Because the running entries
/// come first and all have smaller rows than the tile, and the tile is in row order, a stable sort
/// orders equal scores by row: exact ties-by-row semantics with no host round trip.
/// </summary>
internal sealed class DeviceTopK : ITopKSelector
{
    private readonly int[] _queries;
    private readonly int _k;
    private readonly Device _device;
    private readonly Tensor _values;
    private readonly Tensor _rows;

    internal DeviceTopK(int[] queries, int k, Device device)
    {
        _queries = queries;
        _k = k;
        _device = device;
        _values = torch.full(queries.Length, k, float.PositiveInfinity, ScalarType.Float32, device);
        _rows = torch.full(queries.Length, k, long.MaxValue, ScalarType.Int64, device);
    }

    /// <summary>Device tiles are queued on one stream anyway; they are fed one after another.</summary>
    public bool ConcurrentQueryTiles => false;

    public void BeginDatabaseTile(Tensor bias)
    {
    }

    public void Accept(Tensor queries, Tensor transposed, Tensor bias, float alpha, int queryStart, int databaseStart, CancellationToken cancellationToken)
    {
        var queryRows = (int)queries.shape[0];
        var databaseRows = (int)transposed.shape[1];
        var scores = torch.addmm(bias.unsqueeze(0), queries, transposed, 1f, alpha);

        var selfQueries = new List<long>();
        var selfColumns = new List<long>();
        for (var r = 0; r < queryRows; r++)
        {
            var self = _queries[queryStart + r] - databaseStart;
            if ((uint)self < (uint)databaseRows)
            {
                selfQueries.Add(r);
                selfColumns.Add(self);
            }
        }

        if (selfQueries.Count > 0)
        {
            scores.index_put_(
                float.PositiveInfinity,
                [torch.tensor(selfQueries.ToArray(), device: _device), torch.tensor(selfColumns.ToArray(), device: _device)]);
        }

        var runningValues = _values.narrow(0, queryStart, queryRows);
        var runningRows = _rows.narrow(0, queryStart, queryRows);
        var candidates = torch.cat([runningValues, scores], 1);
        var tileRows = torch.arange(databaseStart, databaseStart + databaseRows, ScalarType.Int64, _device).unsqueeze(0).expand(queryRows, databaseRows);
        var candidateRows = torch.cat([runningRows, tileRows], 1);
        var (sorted, order) = candidates.sort(1, descending: false, stable: true);
        runningValues.copy_(sorted.narrow(1, 0, _k));
        runningRows.copy_(candidateRows.gather(1, order.narrow(1, 0, _k)));
    }

    public (int[] Neighbours, float[] Scores) Finish()
    {
        var scores = _values.cpu().data<float>().ToArray();
        var rows = _rows.cpu().data<long>().ToArray();
        var neighbours = new int[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            // K < Count and every score is finite, so each slot holds a real row; a sentinel here would be a bug.
            neighbours[i] = rows[i] is >= 0 and < int.MaxValue
                ? (int)rows[i]
                : throw new InvalidOperationException($"Top-k slot {i} was never filled (row {rows[i]}).");
        }

        return (neighbours, scores);
    }
}

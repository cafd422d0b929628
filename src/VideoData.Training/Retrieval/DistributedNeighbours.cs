using System.Runtime.InteropServices;
using TorchSharp;
using VideoData.Training.Distributed;

namespace VideoData.Training.Retrieval;

/// <summary>
/// The exact neighbour search of <see cref="ExactNearestNeighbours"/> split across the ranks of an
/// <see cref="ICollective"/>: every rank holds the whole embedding table, searches a contiguous share of the query
/// tiles, and the per-query results are all-gathered, so every rank ends with the whole <see cref="NeighbourTable"/>.
/// Invariant: the result is the single-process search's, bit for bit. Each rank searches with the tile sizes the
/// single process chooses for all the queries, and its share starts on a tile boundary, so every distance comes from
/// the same matrix product over the same rows as in one process, and the running top-k (ordered by distance, then
/// row) does not depend on which other queries share the search. (The tile sizes depend on the memory budget and,
/// when the budget binds, on the thread count: give ranks the single process's thread count or explicit tile sizes
/// for identity in that case.)
/// </summary>
internal static class DistributedNeighbours
{
    public static NeighbourTable Search(VideoEmbeddings embeddings, int[] queries, NearestNeighbourOptions options, ICollective collective, CancellationToken cancellationToken)
    {
        if (collective.WorldSize == 1)
        {
            return ExactNearestNeighbours.Search(embeddings, queries, options, cancellationToken);
        }

        options.Validate();
        var device = options.ParseDevice();
        var strategy = options.Strategy ?? (device.type == DeviceType.CPU ? TopKStrategy.HostHeaps : TopKStrategy.DeviceSort);
        var workers = strategy == TopKStrategy.HostHeaps ? options.Threads ?? torch.get_num_threads() : 1;
        var k = options.K;
        var plan = TilePlan.Choose(options, strategy, embeddings.Count, queries.Length, embeddings.Dimension, workers);
        var tiles = (queries.Length + plan.QueryRows - 1) / plan.QueryRows;
        var firstTile = (int)((long)tiles * collective.Rank / collective.WorldSize);
        var endTile = (int)((long)tiles * (collective.Rank + 1) / collective.WorldSize);
        var start = Math.Min(queries.Length, firstTile * plan.QueryRows);
        var end = Math.Min(queries.Length, endTile * plan.QueryRows);

        byte[] payload = [];
        if (end > start)
        {
            var share = new NearestNeighbourOptions
            {
                K = k,
                Metric = options.Metric,
                Device = options.Device,
                MemoryBudgetBytes = options.MemoryBudgetBytes,
                Threads = options.Threads,
                QueryTileRows = plan.QueryRows,
                DatabaseTileRows = plan.DatabaseRows,
                Strategy = strategy,
            };
            var table = ExactNearestNeighbours.Search(embeddings, queries[start..end], share, cancellationToken);
            var count = end - start;
            payload = new byte[count * k * (sizeof(int) + sizeof(float))];
            var rows = MemoryMarshal.Cast<byte, int>(payload.AsSpan(0, count * k * sizeof(int)));
            var distances = MemoryMarshal.Cast<byte, float>(payload.AsSpan(count * k * sizeof(int)));
            for (var q = 0; q < count; q++)
            {
                table.Neighbours(q).CopyTo(rows.Slice(q * k, k));
                table.Distances(q).CopyTo(distances.Slice(q * k, k));
            }
        }

        // Shares are contiguous and in rank order, so concatenating them gives the queries in their order.
        var parts = collective.AllGather(payload);
        var neighbours = new int[queries.Length * k];
        var allDistances = new float[queries.Length * k];
        var at = 0;
        foreach (var part in parts)
        {
            var count = part.Length / (k * (sizeof(int) + sizeof(float)));
            MemoryMarshal.Cast<byte, int>(part.AsSpan(0, count * k * sizeof(int))).CopyTo(neighbours.AsSpan(at * k));
            MemoryMarshal.Cast<byte, float>(part.AsSpan(count * k * sizeof(int))).CopyTo(allDistances.AsSpan(at * k));
            at += count;
        }

        if (at != queries.Length)
        {
            throw new InvalidOperationException($"The ranks returned neighbours for {at} of {queries.Length} queries; their query shares do not add up.");
        }

        return new NeighbourTable(queries, k, neighbours, allDistances, options.Metric);
    }
}

using System.Globalization;
using VideoData.Training.Distributed;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;

namespace VideoData.Training.Retrieval;

/// <summary>Options of <see cref="ClusteredPlans.Build"/>. Validated once, when a plan is built.</summary>
internal sealed class ClusteredPlanOptions
{
    /// <summary>Videos per batch (the reference's <c>num_video_per_batch</c>). Default 32; there are ⌊N / BatchVideos⌋ batches.</summary>
    public int BatchVideos { get; set; } = 32;

    /// <summary>The run seed; with <see cref="Epoch"/> it decides every random choice of the plan.</summary>
    public long Seed { get; set; }

    /// <summary>The epoch the plan is for (0-based).</summary>
    public int Epoch { get; set; }

    /// <summary>
    /// The neighbour search: K (default 64 neighbours besides the query), metric, device, memory budget.
    /// The reference's <c>num_cands: 64</c> counts the query itself; <c>K = 63</c> reproduces it exactly.
    /// </summary>
    public NearestNeighbourOptions Neighbours { get; set; } = new();

    internal void Validate()
    {
        if (BatchVideos < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchVideos), BatchVideos, $"BatchVideos must be at least 1; got {BatchVideos}.");
        }

        if (Epoch < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Epoch), Epoch, $"Epoch must not be negative; got {Epoch}.");
        }

        ArgumentNullException.ThrowIfNull(Neighbours, nameof(Neighbours));
        Neighbours.Validate();
    }
}

/// <summary>
/// Retrieval-augmented batch plans (DESIGN §3): ⌊N/B⌋ query videos drawn without replacement, each
/// batch a query and its K nearest neighbours, cut to a random B when larger. A video can sit in
/// several batches or in none, as in the reference.
/// </summary>
internal static class ClusteredPlans
{
    internal const string QueryPurpose = "plan.cluster.queries";
    internal const string GroupPurpose = "plan.cluster.group";

    /// <summary>
    /// Builds the clustered plan for <see cref="ClusteredPlanOptions.Epoch"/>. Every random choice comes
    /// from (seed, epoch) through <see cref="DeterministicRandom"/>: the queries from one stream, and each
    /// batch's cut from a stream keyed by its query's id, so the same embeddings, seed and epoch give
    /// the same plan on any machine.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid, or there are fewer videos than one batch or than K + 1.</exception>
    public static BatchPlan Build(VideoEmbeddings embeddings, ClusteredPlanOptions options, CancellationToken cancellationToken = default) =>
        Build(embeddings, options, SingleProcessCollective.Instance, cancellationToken);

    /// <summary>
    /// Builds the same plan as <see cref="Build(VideoEmbeddings, ClusteredPlanOptions, CancellationToken)"/> with the
    /// neighbour search split across the ranks of <paramref name="collective"/> (each searches its share of the
    /// queries exactly; the results are all-gathered), so every rank returns the whole plan, identical to one
    /// process's. Every rank must call it with the same embeddings and options.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid, or there are fewer videos than one batch or than K + 1.</exception>
    public static BatchPlan Build(VideoEmbeddings embeddings, ClusteredPlanOptions options, ICollective collective, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var n = embeddings.Count;
        var batchVideos = options.BatchVideos;
        var queryCount = n / batchVideos;
        if (queryCount == 0)
        {
            throw new ArgumentException($"A clustered plan of {batchVideos}-video batches needs at least {batchVideos} videos; the embeddings hold {n}.", nameof(embeddings));
        }

        var queries = SampleQueries(n, queryCount, options.Seed, options.Epoch);
        var table = DistributedNeighbours.Search(embeddings, queries, options.Neighbours, collective, cancellationToken);
        var batches = new List<IReadOnlyList<string>>(queryCount);
        for (var q = 0; q < queryCount; q++)
        {
            batches.Add(Group(embeddings, queries[q], table.Neighbours(q), batchVideos, options.Seed, options.Epoch));
        }

        var k = options.Neighbours.K;
        var source = string.Create(
            CultureInfo.InvariantCulture,
            $"clustered: {queryCount} queries, k {k}, {options.Neighbours.Metric.ToString().ToLowerInvariant()}, embeddings {embeddings.Lineage}");
        return new BatchPlan(options.Epoch, options.Seed, BatchPlanKinds.Clustered, batches, batchVideos, source);
    }

    /// <summary>⌊N/B⌋ distinct rows in draw order: a partial Fisher–Yates over the id-sorted rows, like <c>random.sample</c>.</summary>
    internal static int[] SampleQueries(int count, int queryCount, long seed, int epoch)
    {
        var random = DeterministicRandom.For(seed, epoch, QueryPurpose, string.Empty);
        var rows = new int[count];
        for (var i = 0; i < count; i++)
        {
            rows[i] = i;
        }

        PartialShuffle(random, rows, queryCount);
        return rows[..queryCount];
    }

    /// <summary>The batch of one query: the query, then its neighbours nearest first; a random <paramref name="batchVideos"/> of them, in draw order, when there are more.</summary>
    internal static IReadOnlyList<string> Group(VideoEmbeddings embeddings, int query, ReadOnlySpan<int> neighbours, int batchVideos, long seed, int epoch)
    {
        var group = new string[neighbours.Length + 1];
        group[0] = embeddings.VideoIds[query];
        for (var i = 0; i < neighbours.Length; i++)
        {
            group[i + 1] = embeddings.VideoIds[neighbours[i]];
        }

        if (group.Length <= batchVideos)
        {
            return group;
        }

        PartialShuffle(DeterministicRandom.For(seed, epoch, GroupPurpose, group[0]), group, batchVideos);
        return group[..batchVideos];
    }

    private static void PartialShuffle<T>(DeterministicRandom random, T[] items, int take)
    {
        for (var i = 0; i < take; i++)
        {
            var j = random.NextInt(i, items.Length - 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}

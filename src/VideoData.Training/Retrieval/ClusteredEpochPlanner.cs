using System.Globalization;
using System.Text.Json;
using VideoData.Core.Configuration;
using VideoData.Training.Data;
using VideoData.Training.Distributed;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Streaming;

namespace VideoData.Training.Retrieval;

/// <summary>How a clustered run plans epoch 0, before any model has been trained (<c>retrieval.first_epoch</c>).</summary>
internal enum FirstEpochPlan
{
    /// <summary>Clustered on the mean of each video's frozen features (the default).</summary>
    Features,

    /// <summary>Clustered on the freshly initialised model's embeddings.</summary>
    Model,

    /// <summary>A plain shuffle.</summary>
    Shuffled,
}

/// <summary>
/// The planner's keys of a training config's <c>retrieval</c> section, as read from JSON with
/// <see cref="ConfigurationJson.Options"/> (snake_case keys and enum names, unknown keys refused). Null: not given,
/// the planner's default applies.
/// </summary>
internal sealed record RetrievalSettings
{
    public int RetriEpoch { get; init; } = 1;

    public FirstEpochPlan FirstEpoch { get; init; } = FirstEpochPlan.Features;

    public int? K { get; init; }

    public DistanceMetric? Metric { get; init; }

    public string? Device { get; init; }

    /// <summary>Bytes as a number, or a size such as <c>"4GiB"</c>.</summary>
    public JsonElement? MemoryBudget { get; init; }

    public int? Threads { get; init; }

    /// <summary>Reads <paramref name="settings"/>; throws <see cref="ArgumentException"/> naming the key (and value) that does not fit.</summary>
    public static RetrievalSettings Read(IReadOnlyDictionary<string, JsonElement>? settings)
    {
        if (settings is null || settings.Count == 0)
        {
            return new RetrievalSettings();
        }

        var known = ConfigurationJson.Options.GetTypeInfo(typeof(RetrievalSettings)).Properties.Select(p => p.Name).ToList();
        if (settings.Keys.FirstOrDefault(k => !known.Contains(k, StringComparer.Ordinal)) is { } unknown)
        {
            throw new ArgumentException($"retrieval.{unknown} is not a retrieval setting; known: enabled, {string.Join(", ", known)}.");
        }

        try
        {
            return JsonSerializer.SerializeToElement(settings).Deserialize<RetrievalSettings>(ConfigurationJson.Options)!;
        }
        catch (JsonException ex)
        {
            var key = ConfigurationJson.FieldPath(ex) ?? "?";
            var value = settings.TryGetValue(key, out var given) ? given.GetRawText() : "?";
            throw new ArgumentException($"retrieval.{key} = {value}: {(ex.InnerException as UnknownNameException)?.Message ?? ex.Message}", ex);
        }
    }
}

/// <summary>Settings of <see cref="ClusteredEpochPlanner"/>: the <c>retrieval</c> section of a training config.</summary>
internal sealed record ClusteredEpochPlannerOptions
{
    /// <summary>
    /// Regenerate the clustered plan every this many epochs (the reference's <c>retri_epoch</c>). Default 1. In
    /// between, the last clustered grouping is reused (clips still differ per epoch).
    /// </summary>
    public int RetriEpoch { get; init; } = 1;

    /// <summary>
    /// How epoch 0 (no trained model yet) is planned: <c>features</c> (default; clustered on the mean of the
    /// frozen features), <c>model</c> (clustered on the freshly initialized model) or <c>shuffled</c>.
    /// </summary>
    public FirstEpochPlan FirstEpoch { get; init; } = FirstEpochPlan.Features;

    /// <summary>The neighbour search (K, metric, device, memory budget).</summary>
    public NearestNeighbourOptions Neighbours { get; init; } = new();

    /// <summary>
    /// Folder to keep each epoch's embeddings in (<c>embeddings-epoch-NNNN.parquet</c>), or null to not keep
    /// them. Kept embeddings also let a restarted run reuse a grouping between regenerations.
    /// </summary>
    public string? EmbeddingsDirectory { get; init; }

    /// <summary>
    /// Reads the planner's keys of a config's <c>retrieval</c> section: <c>retri_epoch</c>, <c>first_epoch</c>,
    /// <c>k</c>, <c>metric</c> (<c>l2</c>|<c>cosine</c>), <c>device</c>, <c>memory_budget</c> (e.g. "4GiB"),
    /// <c>threads</c>, as typed settings (<see cref="RetrievalSettings"/>) with the shared configuration JSON options.
    /// Unknown keys and bad values are <see cref="ArgumentException"/>s naming the key and the value.
    /// </summary>
    public static ClusteredEpochPlannerOptions FromSettings(IReadOnlyDictionary<string, JsonElement>? settings, string? embeddingsDirectory = null)
    {
        var read = RetrievalSettings.Read(settings);
        var neighbours = new NearestNeighbourOptions();
        neighbours.K = read.K ?? neighbours.K;
        neighbours.Metric = read.Metric ?? neighbours.Metric;
        neighbours.Device = read.Device ?? neighbours.Device;
        neighbours.Threads = read.Threads ?? neighbours.Threads;
        if (read.MemoryBudget is { } budget)
        {
            try
            {
                neighbours.MemoryBudgetBytes = budget.ValueKind == JsonValueKind.Number ? budget.GetInt64() : NearestNeighbourOptions.ParseBytes(budget.GetString() ?? string.Empty);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException)
            {
                throw new ArgumentException($"retrieval.memory_budget = {budget.GetRawText()}: {ex.Message}", ex);
            }
        }

        return new ClusteredEpochPlannerOptions
        {
            RetriEpoch = read.RetriEpoch,
            FirstEpoch = read.FirstEpoch,
            Neighbours = neighbours,
            EmbeddingsDirectory = embeddingsDirectory,
        }.Validate();
    }

    /// <summary>Parses <c>l2</c> or <c>cosine</c>.</summary>
    public static DistanceMetric ParseMetric(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "l2" => DistanceMetric.L2,
        "cosine" => DistanceMetric.Cosine,
        _ => throw new FormatException($"metric '{text}' is not 'l2' or 'cosine'."),
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public ClusteredEpochPlannerOptions Validate()
    {
        if (RetriEpoch < 1)
        {
            throw new ArgumentException($"retrieval.retri_epoch = {RetriEpoch} must be at least 1.");
        }

        if (!Enum.IsDefined(FirstEpoch))
        {
            throw new ArgumentException($"retrieval.first_epoch = {FirstEpoch} is not features, model or shuffled.");
        }

        ArgumentNullException.ThrowIfNull(Neighbours);
        Neighbours.Validate();
        return this;
    }
}

/// <summary>
/// The retrieval-augmented planner the trainer calls between epochs: every
/// <see cref="ClusteredEpochPlannerOptions.RetriEpoch"/> epochs it embeds every training video with the
/// current model (<see cref="VideoEmbedder.FromModelAsync"/>), searches the exact neighbours of ⌊N/B⌋
/// query videos and groups them into the next epoch's batches (<see cref="ClusteredPlans.Build"/>).
/// </summary>
internal sealed class ClusteredEpochPlanner : IEpochPlanner
{
    private readonly IVideoStore _store;
    private readonly BatchStreamerOptions _streamer;
    private readonly int _batchVideos;
    private readonly long _seed;
    private readonly ClusteredEpochPlannerOptions _options;
    private readonly ICollective _collective;
    private BatchPlan? _last;

    /// <summary>Plans over the videos of <paramref name="store"/>; options are validated here.</summary>
    /// <param name="store">The training videos.</param>
    /// <param name="streamer">The trainer's sampler parameters and device, used for the embedding pass.</param>
    /// <param name="batchVideos">Videos per batch.</param>
    /// <param name="seed">The run seed.</param>
    /// <param name="options">When and how to cluster.</param>
    /// <param name="collective">
    /// The ranks of a data-parallel run, or null for one process. With several ranks every rank calls
    /// <see cref="PlanAsync"/> for every epoch: each embeds its share of the videos, the table is all-gathered, each
    /// searches its share of the queries, and every rank returns the same plan (the one a single process would make
    /// from the same embeddings); rank 0 alone keeps the embeddings file.
    /// </param>
    public ClusteredEpochPlanner(IVideoStore store, BatchStreamerOptions streamer, int batchVideos, long seed, ClusteredEpochPlannerOptions options, ICollective? collective = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(streamer);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchVideos, 1);
        _store = store;
        _streamer = streamer;
        _batchVideos = batchVideos;
        _seed = seed;
        _options = options.Validate();
        _collective = collective ?? SingleProcessCollective.Instance;
    }

    /// <summary>The embeddings file of <paramref name="epoch"/> under <paramref name="directory"/>.</summary>
    public static string EmbeddingsPath(string directory, int epoch) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"embeddings-epoch-{epoch:D4}.parquet"));

    /// <inheritdoc />
    public async Task<BatchPlan> PlanAsync(int epoch, VideoClipModel model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (epoch == 0 && _options.FirstEpoch == FirstEpochPlan.Shuffled)
        {
            return BatchPlan.Shuffled(_store.VideoIds, _batchVideos, _seed, epoch);
        }

        var grouping = epoch - (epoch % _options.RetriEpoch);
        if (grouping != epoch && _last is not null && _last.Epoch == grouping)
        {
            return _last with { Epoch = epoch };
        }

        VideoEmbeddings embeddings;
        if (grouping != epoch)
        {
            // A restarted run between regenerations: rebuild the grouping from the embeddings it was made from.
            embeddings = await KeptEmbeddingsAsync(grouping, epoch, cancellationToken).ConfigureAwait(false);
        }
        else if (epoch == 0 && _options.FirstEpoch == FirstEpochPlan.Features)
        {
            embeddings = await VideoEmbedder.FromFrozenFeaturesAsync(_store, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            embeddings = await VideoEmbedder.FromModelAcrossRanksAsync(
                _store, model, _streamer, _seed, epoch, _collective, $"in-training model before epoch {epoch}", _batchVideos, cancellationToken).ConfigureAwait(false);
        }

        if (grouping == epoch && _options.EmbeddingsDirectory is { } directory && _collective.Rank == 0)
        {
            await EmbeddingsFile.WriteAsync(embeddings, EmbeddingsPath(directory, epoch), cancellationToken).ConfigureAwait(false);
        }

        var options = new ClusteredPlanOptions { BatchVideos = _batchVideos, Seed = _seed, Epoch = grouping, Neighbours = _options.Neighbours };
        _last = ClusteredPlans.Build(embeddings, options, _collective, cancellationToken);
        return _last with { Epoch = epoch };
    }

    private async Task<VideoEmbeddings> KeptEmbeddingsAsync(int grouping, int epoch, CancellationToken cancellationToken)
    {
        var path = _options.EmbeddingsDirectory is { } directory ? EmbeddingsPath(directory, grouping) : null;
        if (path is null || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"Epoch {epoch} reuses the clustered grouping of epoch {grouping} (retri_epoch {_options.RetriEpoch}), but this planner did not make it "
                + $"and its embeddings file {(path is null ? "is not kept (no embeddings directory)" : $"'{path}' does not exist")}.");
        }

        return await EmbeddingsFile.ReadAsync(path, cancellationToken).ConfigureAwait(false);
    }
}

using System.Globalization;
using Parquet.Schema;
using Parquet;
using VideoData.Storage.Blobs;
using VideoData.Training.Sampling;

namespace VideoData.Training.Plans;

/// <summary>
/// The ordered batches of one epoch: which videos train together, in which order. Clips are not
/// stored: the clip sampler regenerates them bit for bit from (seed, epoch, video id).
/// </summary>
/// <remarks>
/// On disk a plan is one Parquet file with one row per (batch, video): columns <c>batch</c> (int32,
/// 0-based), <c>position</c> (int32, 0-based position in the batch) and <c>video_id</c> (string), plus
/// key/value metadata <c>videodata.plan.epoch</c>, <c>videodata.plan.seed</c>, <c>videodata.plan.kind</c>,
/// <c>videodata.plan.batch_videos</c> and <c>videodata.plan.source</c>. Any Parquet reader can read it.
/// </remarks>
/// <param name="Epoch">The epoch this plan is for (0-based).</param>
/// <param name="Seed">The run seed; with the epoch it determines every random choice of the epoch.</param>
/// <param name="Kind"><see cref="BatchPlanKinds.Shuffled"/> or <see cref="BatchPlanKinds.Clustered"/>.</param>
/// <param name="Batches">The batches in training order; each is a non-empty list of distinct video ids.</param>
/// <param name="BatchVideos">The nominal number of videos per batch (the last batch of a plan may hold fewer).</param>
/// <param name="Source">Free-text lineage: what made this plan (e.g. "shuffled", "clustered from checkpoint step-2000").</param>
public sealed record BatchPlan(int Epoch, long Seed, string Kind, IReadOnlyList<IReadOnlyList<string>> Batches, int BatchVideos, string Source)
{
    internal const string EpochKey = "videodata.plan.epoch";
    internal const string SeedKey = "videodata.plan.seed";
    internal const string KindKey = "videodata.plan.kind";
    internal const string BatchVideosKey = "videodata.plan.batch_videos";
    internal const string SourceKey = "videodata.plan.source";

    private static readonly DataField<int> s_batchField = new("batch", nullable: false);
    private static readonly DataField<int> s_positionField = new("position", nullable: false);
    private static readonly DataField<string> s_videoIdField = new("video_id", nullable: false);
    private static readonly ParquetSchema s_schema = new(s_batchField, s_positionField, s_videoIdField);

    /// <summary>The number of (batch, video) rows, i.e. videos in the plan.</summary>
    public int VideoCount => Batches.Sum(b => b.Count);

    /// <summary>
    /// A seeded shuffled plan: the distinct ids in a random order drawn from (<paramref name="seed"/>,
    /// <paramref name="epoch"/>), cut into batches of <paramref name="batchVideos"/> (the last batch holds
    /// the remainder). The result does not depend on the order of <paramref name="videoIds"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An id is null, empty or repeated, or there are no ids.</exception>
    public static BatchPlan Shuffled(IEnumerable<string> videoIds, int batchVideos, long seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(videoIds);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchVideos, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var ids = videoIds.ToList();
        if (ids.Count == 0)
        {
            throw new ArgumentException("A plan needs at least one video id; the list is empty.", nameof(videoIds));
        }

        ids.Sort(StringComparer.Ordinal);
        for (var i = 0; i < ids.Count; i++)
        {
            if (string.IsNullOrEmpty(ids[i]))
            {
                throw new ArgumentException("Video ids must be non-empty strings; found an empty or null id.", nameof(videoIds));
            }

            if (i > 0 && ids[i] == ids[i - 1])
            {
                throw new ArgumentException($"Video id '{ids[i]}' appears more than once.", nameof(videoIds));
            }
        }

        DeterministicRandom.For(seed, epoch, "plan.shuffle", string.Empty).Shuffle(ids);
        var batches = ids.Chunk(batchVideos).Select(chunk => (IReadOnlyList<string>)chunk).ToList();
        return new BatchPlan(epoch, seed, BatchPlanKinds.Shuffled, batches, batchVideos, "shuffled");
    }

    /// <summary>
    /// The batches rank <paramref name="rank"/> of <paramref name="worldSize"/> trains on: batches
    /// <c>rank, rank + worldSize, …</c> of the plan cut to a multiple of <paramref name="worldSize"/>, so every
    /// rank has the same number of batches and global step <c>s</c> covers plan batches
    /// <c>[s·worldSize, (s+1)·worldSize)</c>. Trailing batches that do not fill a round are dropped (at most
    /// <c>worldSize − 1</c>).
    /// </summary>
    public BatchPlan ForRank(int rank, int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        var perRank = Batches.Count / worldSize;
        if (perRank == 0)
        {
            throw new ArgumentException(
                $"The plan for epoch {Epoch} has {Batches.Count} batches, fewer than the world size {worldSize}; every rank needs at least one.",
                nameof(worldSize));
        }

        var mine = new List<IReadOnlyList<string>>(perRank);
        for (var step = 0; step < perRank; step++)
        {
            mine.Add(Batches[(step * worldSize) + rank]);
        }

        return this with { Batches = mine, Source = $"{Source}; rank {rank} of {worldSize}" };
    }

    /// <summary>
    /// Writes <paramref name="plan"/> to <paramref name="target"/> (a local path or a store object) atomically: to a temporary file in the same
    /// folder, then renamed over the target, so a reader never sees half a plan.
    /// </summary>
    public static async Task WriteAsync(BatchPlan plan, OutputTarget target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentException.ThrowIfNullOrEmpty(target.Name, nameof(target));
        plan.Validate(target.Name);

        var rows = plan.VideoCount;
        var batch = new int[rows];
        var position = new int[rows];
        var ids = new string[rows];
        var row = 0;
        for (var b = 0; b < plan.Batches.Count; b++)
        {
            for (var p = 0; p < plan.Batches[b].Count; p++)
            {
                batch[row] = b;
                position[row] = p;
                ids[row] = plan.Batches[b][p];
                row++;
            }
        }

        await target.WriteAsync(async (stream, cancellationToken) =>
        {
            var writer = await ParquetWriter.CreateAsync(s_schema, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (writer.ConfigureAwait(false))
            {
                writer.CustomMetadata = new Dictionary<string, string>
                {
                    [EpochKey] = plan.Epoch.ToString(CultureInfo.InvariantCulture),
                    [SeedKey] = plan.Seed.ToString(CultureInfo.InvariantCulture),
                    [KindKey] = plan.Kind,
                    [BatchVideosKey] = plan.BatchVideos.ToString(CultureInfo.InvariantCulture),
                    [SourceKey] = plan.Source,
                };
                using var group = writer.CreateRowGroup();
                await group.WriteAsync<int>(s_batchField, batch, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.WriteAsync<int>(s_positionField, position, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.WriteAsync(s_videoIdField, ids).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a plan written by <see cref="WriteAsync"/> (or by any tool writing the same columns and metadata).</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed plan; the message names the file and the problem.</exception>
    public static async Task<BatchPlan> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Batch plan '{path}' does not exist.", path);
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new InvalidDataException($"Batch plan '{path}' is not a readable Parquet file: {ex.Message}", ex);
        }

        await using (reader.ConfigureAwait(false))
        {
            var meta = reader.CustomMetadata;
            var epoch = ParseInt(path, meta, EpochKey);
            var seed = ParseLong(path, meta, SeedKey);
            var kind = Require(path, meta, KindKey);
            var batchVideos = ParseInt(path, meta, BatchVideosKey);
            meta.TryGetValue(SourceKey, out var source);

            var fields = reader.Schema.GetDataFields();
            var batchField = Field(path, fields, "batch", typeof(int));
            var positionField = Field(path, fields, "position", typeof(int));
            var idField = Field(path, fields, "video_id", typeof(string));

            var rows = new List<(int Batch, int Position, string Id)>();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var n = checked((int)group.RowCount);
                var batch = new int[n];
                var position = new int[n];
                var ids = new string[n];
                await group.ReadAsync<int>(batchField, batch, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync<int>(positionField, position, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync(idField, ids, cancellationToken: cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < n; i++)
                {
                    rows.Add((batch[i], position[i], ids[i]));
                }
            }

            rows.Sort((a, b) => a.Batch != b.Batch ? a.Batch.CompareTo(b.Batch) : a.Position.CompareTo(b.Position));
            var batches = new List<IReadOnlyList<string>>();
            List<string>? current = null;
            foreach (var (b, p, id) in rows)
            {
                if (b == batches.Count && p == 0)
                {
                    current = [];
                    batches.Add(current);
                }
                else if (current is null || b != batches.Count - 1 || p != current.Count)
                {
                    throw new InvalidDataException(
                        $"Batch plan '{path}' has a gap or duplicate at batch {b}, position {p}: batches must be numbered 0.. and positions 0.. without holes.");
                }

                current.Add(id);
            }

            var plan = new BatchPlan(epoch, seed, kind, batches, batchVideos, source ?? string.Empty);
            plan.Validate(path);
            return plan;
        }
    }

    private void Validate(string path)
    {
        if (Kind != BatchPlanKinds.Shuffled && Kind != BatchPlanKinds.Clustered)
        {
            throw new InvalidDataException($"Batch plan '{path}': kind '{Kind}' is not '{BatchPlanKinds.Shuffled}' or '{BatchPlanKinds.Clustered}'.");
        }

        if (Epoch < 0)
        {
            throw new InvalidDataException($"Batch plan '{path}': epoch {Epoch} is negative.");
        }

        if (BatchVideos < 1)
        {
            throw new InvalidDataException($"Batch plan '{path}': batch_videos {BatchVideos} is not positive.");
        }

        if (Batches.Count == 0)
        {
            throw new InvalidDataException($"Batch plan '{path}' has no batches.");
        }

        for (var b = 0; b < Batches.Count; b++)
        {
            var batch = Batches[b];
            if (batch.Count == 0)
            {
                throw new InvalidDataException($"Batch plan '{path}': batch {b} is empty.");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in batch)
            {
                if (string.IsNullOrEmpty(id))
                {
                    throw new InvalidDataException($"Batch plan '{path}': batch {b} holds an empty video id.");
                }

                if (!seen.Add(id))
                {
                    throw new InvalidDataException($"Batch plan '{path}': batch {b} holds video '{id}' twice.");
                }
            }
        }
    }

    private static DataField Field(string path, DataField[] fields, string name, Type type)
    {
        var field = fields.FirstOrDefault(f => f.Name == name)
            ?? throw new InvalidDataException($"Batch plan '{path}' has no column '{name}'.");
        // Parquet.Net surfaces UTF-8 columns read from a file as ReadOnlyMemory<char>; both mean "string".
        var clr = field.ClrType == typeof(ReadOnlyMemory<char>) ? typeof(string) : field.ClrType;
        if (clr != type || field.IsArray)
        {
            throw new InvalidDataException($"Batch plan '{path}': column '{name}' is {field.ClrType.Name}{(field.IsArray ? "[]" : string.Empty)}, expected {type.Name}.");
        }

        return field;
    }

    private static string Require(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out var value)
            ? value
            : throw new InvalidDataException($"Batch plan '{path}' lacks the metadata key '{key}'.");

    private static int ParseInt(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        int.TryParse(Require(path, meta, key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidDataException($"Batch plan '{path}': metadata '{key}' = '{meta[key]}' is not an int32.");

    private static long ParseLong(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        long.TryParse(Require(path, meta, key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidDataException($"Batch plan '{path}': metadata '{key}' = '{meta[key]}' is not an int64.");
}

/// <summary>The values of <see cref="BatchPlan.Kind"/>.</summary>
public static class BatchPlanKinds
{
    /// <summary>Videos in a seeded random order.</summary>
    public const string Shuffled = "shuffled";

    /// <summary>Each batch is a query video and its nearest neighbours (retrieval-augmented).</summary>
    public const string Clustered = "clustered";
}

using System.Globalization;
using Parquet;
using Parquet.Schema;
using VideoData.Storage.Blobs;

namespace VideoData.Training.Retrieval;

/// <summary>
/// Reads and writes per-video embeddings as Parquet, so a trainer outside this tool can hand its own
/// vectors to <c>videodata cluster</c>.
/// </summary>
/// <remarks>
/// One row per video: <c>video_id</c> (string) and <c>vector</c> (list of float32, the same length in
/// every row), plus key/value metadata <c>videodata.embeddings.source</c>, <c>.checkpoint</c>,
/// <c>.epoch</c> and <c>.dimension</c>. In pyarrow: <c>np.stack(table["vector"].to_numpy(zero_copy_only=False))</c>.
/// A file written by another tool needs only the two columns; missing lineage reads as source
/// "external".
/// </remarks>
public static class EmbeddingsFile
{
    internal const string SourceKey = "videodata.embeddings.source";
    internal const string CheckpointKey = "videodata.embeddings.checkpoint";
    internal const string EpochKey = "videodata.embeddings.epoch";
    internal const string DimensionKey = "videodata.embeddings.dimension";

    /// <summary>The source recorded for files that carry no lineage metadata.</summary>
    public const string ExternalSource = "external";

    private const int RowsPerGroup = 16_384;

    private static readonly DataField<string> s_idField = new("video_id", nullable: false);
    private static readonly DataField<float> s_elementField = new(ListField.ElementName, nullable: false);
    private static readonly ParquetSchema s_schema = new(s_idField, new ListField("vector", s_elementField));

    /// <summary>
    /// Writes <paramref name="embeddings"/> to <paramref name="target"/> (a local path or a store object) atomically (a temporary file in the
    /// same folder, then a rename), so a reader never sees half a file.
    /// </summary>
    public static async Task WriteAsync(VideoEmbeddings embeddings, OutputTarget target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentException.ThrowIfNullOrEmpty(target.Name, nameof(target));
        var dimension = embeddings.Dimension;
        await target.WriteAsync(async (stream, cancellationToken) =>
        {
            var writer = await ParquetWriter.CreateAsync(s_schema, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (writer.ConfigureAwait(false))
            {
                var metadata = new Dictionary<string, string>
                {
                    [SourceKey] = embeddings.Lineage.Source,
                    [DimensionKey] = dimension.ToString(CultureInfo.InvariantCulture),
                };
                if (embeddings.Lineage.Checkpoint is { } checkpoint)
                {
                    metadata[CheckpointKey] = checkpoint;
                }

                if (embeddings.Lineage.Epoch is { } epoch)
                {
                    metadata[EpochKey] = epoch.ToString(CultureInfo.InvariantCulture);
                }

                writer.CustomMetadata = metadata;
                // Every value is present (full definition level); repetition level 0 starts a row's list.
                var levels = new int[Math.Min(RowsPerGroup, embeddings.Count) * dimension];
                var defined = new int[levels.Length];
                for (var i = 0; i < levels.Length; i++)
                {
                    levels[i] = i % dimension == 0 ? 0 : 1;
                    defined[i] = s_elementField.MaxDefinitionLevel;
                }

                for (var start = 0; start < embeddings.Count; start += RowsPerGroup)
                {
                    var rows = Math.Min(RowsPerGroup, embeddings.Count - start);
                    var ids = new string[rows];
                    for (var i = 0; i < rows; i++)
                    {
                        ids[i] = embeddings.VideoIds[start + i];
                    }

                    using var group = writer.CreateRowGroup();
                    await group.WriteAsync(s_idField, ids).ConfigureAwait(false);
                    await group.WriteAllPartsAsync<float>(
                        s_elementField,
                        embeddings.Vectors.Slice(start * dimension, rows * dimension),
                        defined.AsMemory(0, rows * dimension),
                        levels.AsMemory(0, rows * dimension),
                        cancellationToken).ConfigureAwait(false);
                }
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads an embeddings file written by <see cref="WriteAsync"/> or by any tool writing the same two columns.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a well-formed embeddings file; the message names the file, and the video where one is at fault.</exception>
    public static async Task<VideoEmbeddings> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Embeddings file '{path}' does not exist.", path);
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"Embeddings file '{path}' is not a readable Parquet file: {ex.Message}", ex);
        }

        await using (reader.ConfigureAwait(false))
        {
            var meta = reader.CustomMetadata;
            var fields = reader.Schema.GetDataFields();
            var idField = fields.FirstOrDefault(f => f.Name == "video_id" && f.Path.ToList().Count == 1)
                ?? throw new InvalidDataException($"Embeddings file '{path}' has no top-level column 'video_id'.");
            var vectorField = fields.FirstOrDefault(f => f.Path.ToList().FirstOrDefault() == "vector")
                ?? throw new InvalidDataException($"Embeddings file '{path}' has no column 'vector'.");
            if (vectorField.MaxRepetitionLevel != 1 || vectorField.ClrType != typeof(float))
            {
                throw new InvalidDataException(
                    $"Embeddings file '{path}': column 'vector' is {vectorField.ClrType.Name} at nesting depth {vectorField.MaxRepetitionLevel}, expected a list of float32.");
            }

            var ids = new List<string>();
            var vectors = new List<float[]>();
            var dimension = -1;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var rows = checked((int)group.RowCount);
                var groupIds = new string?[rows];
                await group.ReadAsync(idField, groupIds, cancellationToken: cancellationToken).ConfigureAwait(false);
                var valueCount = checked((int)(group.GetMetadata(vectorField)?.MetaData?.NumValues
                    ?? throw new InvalidDataException($"Embeddings file '{path}': row group {g} has no metadata for column 'vector'.")));
                var values = new float[valueCount];
                var defined = new int[valueCount];
                var levels = new int[valueCount];
                await group.ReadRawAsync<float>(vectorField, values, defined, levels, cancellationToken).ConfigureAwait(false);
                var starts = new List<int>(rows + 1);
                for (var i = 0; i < valueCount; i++)
                {
                    if (defined[i] != vectorField.MaxDefinitionLevel)
                    {
                        throw new InvalidDataException(
                            $"Embeddings file '{path}': row {ids.Count + starts.Count - (levels[i] == 0 ? 0 : 1)} has a null or empty vector, or a null element in it.");
                    }

                    if (levels[i] == 0)
                    {
                        starts.Add(i);
                    }
                }

                if (starts.Count != rows)
                {
                    throw new InvalidDataException($"Embeddings file '{path}': row group {g} has {rows} ids but {starts.Count} vectors (an empty or null vector?).");
                }

                starts.Add(valueCount);
                for (var r = 0; r < rows; r++)
                {
                    var length = starts[r + 1] - starts[r];
                    if (dimension < 0)
                    {
                        dimension = length;
                    }

                    if (length != dimension || length == 0)
                    {
                        throw new InvalidDataException(
                            $"Embeddings file '{path}': the vector of video '{groupIds[r] ?? "(null)"}' has {length} values; the first vector has {dimension}. All vectors must have the same non-zero length.");
                    }
                }

                for (var r = 0; r < rows; r++)
                {
                    ids.Add(groupIds[r] ?? throw new InvalidDataException($"Embeddings file '{path}': row {ids.Count} has a null video_id."));
                }

                vectors.Add(values);
            }

            if (ids.Count == 0)
            {
                throw new InvalidDataException($"Embeddings file '{path}' holds no videos.");
            }

            if (meta.TryGetValue(DimensionKey, out var declared) && declared != dimension.ToString(CultureInfo.InvariantCulture))
            {
                throw new InvalidDataException($"Embeddings file '{path}': metadata says dimension {declared} but the vectors have {dimension} values.");
            }

            if ((long)ids.Count * dimension > Array.MaxLength)
            {
                throw new InvalidDataException(
                    $"Embeddings file '{path}': {ids.Count} vectors of {dimension} floats exceed the {Array.MaxLength} floats one embedding set can hold.");
            }

            var all = new float[ids.Count * dimension];
            var offset = 0;
            foreach (var chunk in vectors)
            {
                chunk.CopyTo(all, offset);
                offset += chunk.Length;
            }

            try
            {
                return VideoEmbeddings.Create(ids, all, dimension, ReadLineage(path, meta));
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"Embeddings file '{path}': {ex.Message}", ex);
            }
        }
    }

    private static EmbeddingLineage ReadLineage(string path, IReadOnlyDictionary<string, string> meta)
    {
        var source = meta.TryGetValue(SourceKey, out var s) && !string.IsNullOrEmpty(s) ? s : ExternalSource;
        meta.TryGetValue(CheckpointKey, out var checkpoint);
        int? epoch = null;
        if (meta.TryGetValue(EpochKey, out var e))
        {
            epoch = int.TryParse(e, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) && parsed >= 0
                ? parsed
                : throw new InvalidDataException($"Embeddings file '{path}': metadata '{EpochKey}' = '{e}' is not a non-negative int32.");
        }

        return new EmbeddingLineage(source, string.IsNullOrEmpty(checkpoint) ? null : checkpoint, epoch);
    }
}

namespace VideoData.Training.Retrieval;

/// <summary>
/// One vector per video, the input of nearest-neighbour search and clustered batch plans. Rows are
/// kept in ordinal order of the video id, so a row index stands for its id everywhere: "ties broken
/// by id" means ties broken by row index, and the result never depends on the order the videos
/// came in.
/// </summary>
/// <remarks>
/// Vectors are float32, row-major in one array (<see cref="Count"/> × <see cref="Dimension"/>), which
/// limits a set to about 2.1 billion floats (2.8 M videos at 768-d). Every value is finite and every
/// squared norm is below 1e37, so distances between any two rows are finite. Immutable once created;
/// safe to share between threads.
/// </remarks>
public sealed class VideoEmbeddings
{
    /// <summary>Squared norms at or above this are refused: the sum of two of them would overflow float32.</summary>
    internal const float MaxSquaredNorm = 1e37f;

    private readonly string[] _ids;
    private readonly float[] _vectors;

    private VideoEmbeddings(string[] ids, float[] vectors, int dimension, EmbeddingLineage lineage)
    {
        _ids = ids;
        _vectors = vectors;
        Dimension = dimension;
        Lineage = lineage;
    }

    /// <summary>The number of videos.</summary>
    public int Count => _ids.Length;

    /// <summary>The length of every vector.</summary>
    public int Dimension { get; }

    /// <summary>Where the vectors came from (model checkpoint and epoch, or the frozen features).</summary>
    public EmbeddingLineage Lineage { get; }

    /// <summary>The video ids in ordinal order; row <c>i</c> of the vectors belongs to <c>VideoIds[i]</c>.</summary>
    public IReadOnlyList<string> VideoIds => _ids;

    /// <summary>All vectors, row-major (<see cref="Count"/> × <see cref="Dimension"/>).</summary>
    public ReadOnlyMemory<float> Vectors => _vectors;

    /// <summary>The backing array, shared with tensors on the CPU without a copy; never written.</summary>
    internal float[] VectorArray => _vectors;

    /// <summary>The vector of row <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Vector(int index) => _vectors.AsSpan(checked(index * Dimension), Dimension);

    /// <summary>The row of <paramref name="videoId"/>, or −1 when the set does not hold it.</summary>
    public int IndexOf(string videoId)
    {
        ArgumentNullException.ThrowIfNull(videoId);
        var index = Array.BinarySearch(_ids, videoId, StringComparer.Ordinal);
        return index >= 0 ? index : -1;
    }

    /// <summary>
    /// Creates a set from parallel ids and row-major vectors, sorting the rows by id. The arrays are
    /// copied when they need reordering and otherwise taken over: do not modify them afterwards.
    /// </summary>
    /// <param name="videoIds">Distinct, non-empty ids, in any order.</param>
    /// <param name="vectors">videoIds.Count × <paramref name="dimension"/> floats, row i for videoIds[i].</param>
    /// <param name="dimension">The vector length, at least 1.</param>
    /// <param name="lineage">Where the vectors came from.</param>
    /// <exception cref="ArgumentException">The ids are empty, repeated or missing, the sizes disagree, or a vector holds a non-finite value or is too large; the message names the video.</exception>
    public static VideoEmbeddings Create(IReadOnlyList<string> videoIds, float[] vectors, int dimension, EmbeddingLineage lineage)
    {
        ArgumentNullException.ThrowIfNull(videoIds);
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentNullException.ThrowIfNull(lineage);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (videoIds.Count == 0)
        {
            throw new ArgumentException("An embedding set needs at least one video; none were given.", nameof(videoIds));
        }

        if ((long)videoIds.Count * dimension != vectors.LongLength)
        {
            throw new ArgumentException(
                $"{videoIds.Count} videos of dimension {dimension} need {(long)videoIds.Count * dimension} floats; {vectors.LongLength} were given.",
                nameof(vectors));
        }

        var order = new int[videoIds.Count];
        var sorted = true;
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
            if (string.IsNullOrEmpty(videoIds[i]))
            {
                throw new ArgumentException($"Video id at row {i} is empty.", nameof(videoIds));
            }

            if (i > 0 && string.CompareOrdinal(videoIds[i - 1], videoIds[i]) >= 0)
            {
                sorted = false;
            }
        }

        if (!sorted)
        {
            Array.Sort(order, (a, b) => string.CompareOrdinal(videoIds[a], videoIds[b]));
        }

        var ids = new string[order.Length];
        for (var i = 0; i < order.Length; i++)
        {
            ids[i] = videoIds[order[i]];
            if (i > 0 && ids[i] == ids[i - 1])
            {
                throw new ArgumentException($"Video id '{ids[i]}' appears more than once.", nameof(videoIds));
            }
        }

        var rows = vectors;
        if (!sorted)
        {
            rows = new float[vectors.Length];
            for (var i = 0; i < order.Length; i++)
            {
                vectors.AsSpan(order[i] * dimension, dimension).CopyTo(rows.AsSpan(i * dimension, dimension));
            }
        }

        for (var i = 0; i < ids.Length; i++)
        {
            CheckRow(ids[i], rows.AsSpan(i * dimension, dimension));
        }

        return new VideoEmbeddings(ids, rows, dimension, lineage);
    }

    private static void CheckRow(string id, ReadOnlySpan<float> row)
    {
        var squaredNorm = 0.0;
        foreach (var value in row)
        {
            if (!float.IsFinite(value))
            {
                throw new ArgumentException($"The vector of video '{id}' holds a non-finite value ({value}).");
            }

            squaredNorm += (double)value * value;
        }

        if (squaredNorm >= MaxSquaredNorm)
        {
            throw new ArgumentException($"The vector of video '{id}' has squared norm {squaredNorm:G3}, at or above the limit {MaxSquaredNorm:G3} that keeps distances finite.");
        }
    }
}

/// <summary>Where a set of embeddings came from; stored as key/value metadata beside the vectors.</summary>
/// <param name="Source"><see cref="EmbeddingSources.Model"/>, <see cref="EmbeddingSources.FrozenFeatures"/> or any label an outside tool chooses.</param>
/// <param name="Checkpoint">The model checkpoint the vectors were computed with, when they came from a model.</param>
/// <param name="Epoch">The training epoch of that checkpoint (or the epoch the vectors are for), when known.</param>
public sealed record EmbeddingLineage(string Source, string? Checkpoint = null, int? Epoch = null)
{
    /// <summary>A one-line description for logs and plan lineage.</summary>
    public override string ToString() =>
        Source + (Checkpoint is null ? string.Empty : $" checkpoint {Checkpoint}") + (Epoch is null ? string.Empty : $" epoch {Epoch}");
}

/// <summary>The standard values of <see cref="EmbeddingLineage.Source"/>.</summary>
internal static class EmbeddingSources
{
    /// <summary>Pooled from the current model as the reference does (16 clips, (video + text)/2, mean over clips).</summary>
    public const string Model = "model";

    /// <summary>The mean of a video's frozen per-second features (epoch 0, before there is a model).</summary>
    public const string FrozenFeatures = "frozen-features";
}

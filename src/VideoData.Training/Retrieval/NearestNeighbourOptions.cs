using System.Globalization;
using TorchSharp;

namespace VideoData.Training.Retrieval;

/// <summary>How distances between embeddings are measured.</summary>
internal enum DistanceMetric
{
    /// <summary>Squared Euclidean distance, as the reference's FAISS index uses (the default).</summary>
    L2,

    /// <summary>Cosine distance, 1 − cos(a, b); every vector must be non-zero.</summary>
    Cosine,
}

/// <summary>Options of <see cref="ExactNearestNeighbours.Search"/>. Validated once, when a search starts.</summary>
internal sealed class NearestNeighbourOptions
{
    /// <summary>The default memory budget: 4 GiB.</summary>
    public const long DefaultMemoryBudgetBytes = 4L << 30;

    /// <summary>How many neighbours to find per query, not counting the query itself. Default 64; at most the number of videos − 1.</summary>
    public int K { get; set; } = 64;

    /// <summary>The distance. Default <see cref="DistanceMetric.L2"/> (the reference's).</summary>
    public DistanceMetric Metric { get; set; } = DistanceMetric.L2;

    /// <summary>Where the matrix products run: <c>cpu</c> (default), <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>
    /// The bytes the search may hold beyond the embeddings themselves (device copies of the queries and of
    /// one database tile, the distance tile, the running top-k). Tile sizes are derived from it. Default 4 GiB.
    /// </summary>
    public long MemoryBudgetBytes { get; set; } = DefaultMemoryBudgetBytes;

    /// <summary>
    /// CPU workers for the matrix products and the top-k scan; null uses libtorch's thread count. Setting it
    /// changes libtorch's process-wide intra-op thread count. During a CPU search each worker runs libtorch on
    /// one thread (libtorch's count is set to 1 and restored afterwards), so do not run other libtorch work
    /// in the process meanwhile.
    /// </summary>
    public int? Threads { get; set; }

    /// <summary>Queries per distance tile; null derives it from <see cref="MemoryBudgetBytes"/>. For tuning and tests.</summary>
    public int? QueryTileRows { get; set; }

    /// <summary>Database vectors per distance tile; null derives it from <see cref="MemoryBudgetBytes"/>. For tuning and tests.</summary>
    public int? DatabaseTileRows { get; set; }

    /// <summary>How the running top-k is kept; null picks host heaps on the CPU and device sorting on CUDA. Tests pin it.</summary>
    internal TopKStrategy? Strategy { get; set; }

    /// <summary>Parses a <c>cpu</c>/<c>cuda</c>/<c>cuda:N</c> device name; throws naming the option on anything else.</summary>
    internal torch.Device ParseDevice()
    {
        var name = Device?.Trim().ToLowerInvariant() ?? string.Empty;
        if (name == "cpu")
        {
            return torch.CPU;
        }

        if (name == "cuda" || (name.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            if (!torch.cuda.is_available())
            {
                throw new NotSupportedException(
                    $"Device '{Device}': CUDA is not available to libtorch in this process (no GPU visible, or this build uses the CPU-only TorchSharp backend; build with -p:TorchBackend=cuda (TorchSharp-cuda-linux) on a GPU machine).");
            }

            return new torch.Device(name);
        }

        throw new ArgumentException($"Device '{Device}' is not 'cpu', 'cuda' or 'cuda:N'.", nameof(Device));
    }

    internal void Validate()
    {
        if (K < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(K), K, $"K (the number of neighbours) must be at least 1; got {K}.");
        }

        if (!Enum.IsDefined(Metric))
        {
            throw new ArgumentOutOfRangeException(nameof(Metric), Metric, $"Metric {Metric} is not l2 or cosine.");
        }

        if (MemoryBudgetBytes < 1 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryBudgetBytes), MemoryBudgetBytes, $"MemoryBudgetBytes must be at least 1 MiB; got {MemoryBudgetBytes}.");
        }

        if (Threads is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, $"Threads must be at least 1 when set; got {Threads}.");
        }

        if (QueryTileRows is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(QueryTileRows), QueryTileRows, $"QueryTileRows must be at least 1 when set; got {QueryTileRows}.");
        }

        if (DatabaseTileRows is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(DatabaseTileRows), DatabaseTileRows, $"DatabaseTileRows must be at least 1 when set; got {DatabaseTileRows}.");
        }
    }

    /// <summary>Parses a size such as <c>4GiB</c>, <c>512MiB</c>, <c>1.5GB</c> or a plain byte count.</summary>
    /// <exception cref="FormatException">The text is not a positive size; the message quotes it.</exception>
    public static long ParseBytes(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        var units = new (string Suffix, double Factor)[]
        {
            ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30), ("B", 1),
        };
        var factor = 1.0;
        foreach (var (suffix, f) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                factor = f;
                t = t[..^suffix.Length].TrimEnd();
                break;
            }
        }

        if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0 || value * factor > long.MaxValue)
        {
            throw new FormatException($"'{text}' is not a size; write e.g. 4GiB, 512MiB, 1.5GB or a byte count.");
        }

        return (long)(value * factor);
    }
}

/// <summary>How the running top-k of a search is kept.</summary>
internal enum TopKStrategy
{
    /// <summary>Per-query heaps on the host, fed by a vectorized scan of each distance tile (CPU).</summary>
    HostHeaps,

    /// <summary>A stable sort of (running top-k ∪ tile) per query, on the device (CUDA; runs on the CPU too).</summary>
    DeviceSort,
}

using System.Buffers.Binary;
using Parquet;
using Parquet.Schema;

namespace VideoData.Shards;

/// <summary>Limits for reading feature shards from untrusted files.</summary>
public sealed record FeatureShardReaderOptions
{
    /// <summary>
    /// The most bytes reading one row group may allocate, as estimated from the footer before anything is read: every
    /// column's declared value count × 16 (a value of up to 8 bytes and its two levels), feature columns × 4 where they
    /// are read straight into arrays. Default 4 GiB (a 16-video row group of 10-minute videos needs ~80 MB).
    /// </summary>
    public long MaxRowGroupBytes { get; init; } = 4L << 30;

    /// <summary>
    /// Whether feature columns in the writer's own layout are decoded by the page reader that copies values straight
    /// into per-video arrays (default), instead of Parquet.Net's general column reader. Off only to measure the one
    /// against the other (<c>TrainBench read</c>); both give the same records.
    /// </summary>
    internal bool FastFloatLists { get; init; } = true;

    /// <summary>Checks the options; throws <see cref="ArgumentOutOfRangeException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (MaxRowGroupBytes < 1 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRowGroupBytes), MaxRowGroupBytes, "FeatureShardReaderOptions.MaxRowGroupBytes must be at least 1 MiB.");
        }
    }
}

/// <summary>
/// Checks what a shard's footer declares against the file's real size and <see cref="FeatureShardReaderOptions"/> before
/// anything is allocated from it: the footer length against the file; per row group, the row count and each column
/// chunk's offsets, sizes and value count (every row needs at least one value in every column; the arrays a read makes
/// from the counts stay within <see cref="FeatureShardReaderOptions.MaxRowGroupBytes"/>). Failures are
/// <see cref="InvalidDataException"/>s naming the file.
/// </summary>
internal static class FeatureShardBounds
{
    private const int ParquetTail = 8;

    /// <summary>The footer length in the file's last 8 bytes must fit the file (Parquet.Net reads that many bytes).</summary>
    public static async Task CheckTailAsync(Stream stream, string name, FeatureShardReaderOptions options, CancellationToken cancellationToken)
    {
        var length = stream.Length;
        if (length < 12)
        {
            throw new InvalidDataException($"Feature shard '{name}' has {length} bytes, too few for a Parquet file.");
        }

        var tail = new byte[ParquetTail];
        stream.Seek(length - ParquetTail, SeekOrigin.Begin);
        await stream.ReadExactlyAsync(tail, cancellationToken).ConfigureAwait(false);
        stream.Seek(0, SeekOrigin.Begin);
        var footer = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (!tail.AsSpan(4).SequenceEqual("PAR1"u8) || footer <= 0 || footer > length - 12 || footer > options.MaxRowGroupBytes)
        {
            throw new InvalidDataException($"Feature shard '{name}' declares a {footer}-byte footer in a {length}-byte file; it is not an intact Parquet file.");
        }
    }

    /// <summary>Checks every row group's declared counts and sizes (reads no data pages).</summary>
    public static void CheckRowGroups(ParquetReader reader, IReadOnlyDictionary<string, DataField> fields, long fileLength, string name, FeatureShardReaderOptions options)
    {
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var rows = group.RowCount;
            if (rows < 0 || rows > int.MaxValue)
            {
                throw new InvalidDataException($"Feature shard '{name}': row group {g} declares {rows} rows.");
            }

            long estimate = 0;
            foreach (var (path, field) in fields)
            {
                var meta = group.GetMetadata(field)?.MetaData
                    ?? throw new InvalidDataException($"Feature shard '{name}': row group {g} has no metadata for column {path}.");
                var start = meta.DictionaryPageOffset is long dictionary && dictionary > 0 ? Math.Min(dictionary, meta.DataPageOffset) : meta.DataPageOffset;
                if (start < 4 || meta.TotalCompressedSize < 0 || start > fileLength || meta.TotalCompressedSize > fileLength - start)
                {
                    throw new InvalidDataException(
                        $"Feature shard '{name}': row group {g} column {path} declares {meta.TotalCompressedSize} bytes at offset {start}, outside the {fileLength}-byte file.");
                }

                if (meta.NumValues < rows || meta.NumValues < 0)
                {
                    throw new InvalidDataException($"Feature shard '{name}': row group {g} column {path} declares {meta.NumValues} values for {rows} rows.");
                }

                var perValue = path.EndsWith("/list/element", StringComparison.Ordinal) && field.ClrType == typeof(float) ? 4 : 16;
                estimate = SaturatingAdd(estimate, meta.NumValues > long.MaxValue / perValue ? long.MaxValue : meta.NumValues * perValue);
            }

            if (estimate > options.MaxRowGroupBytes)
            {
                throw new InvalidDataException(
                    $"Feature shard '{name}': row group {g} declares {rows} rows whose columns would take about {estimate} bytes to read, over the budget of {options.MaxRowGroupBytes} bytes (FeatureShardReaderOptions.MaxRowGroupBytes).");
            }
        }
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}

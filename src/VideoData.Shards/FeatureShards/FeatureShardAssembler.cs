using System.Buffers.Binary;
using System.Text;

namespace VideoData.Shards;

/// <summary>One input of <see cref="FeatureShardAssembler"/>: a feature shard (or work segment) as a seekable stream.</summary>
/// <param name="Name">The file or object name, for messages.</param>
/// <param name="Content">Seekable and readable; not disposed by the assembler.</param>
public sealed record AssemblySource(string Name, Stream Content);

/// <summary>
/// Builds a feature shard from videos of other feature shard files by copying their column chunks byte for byte and
/// writing a new footer: the float features are never decoded or re-encoded, so publishing a shard costs about one copy of
/// its bytes. Each picked video must be alone in its row group (the pipeline writes work segments and shards so); the
/// sources must share the schema and lineage metadata. The output has one row group per video, in pick order, and an index
/// (<see cref="FeatureShardFormat.IndexKey"/>) like any shard the writer makes. Page indexes and bloom filters (which the
/// writer does not produce) are dropped rather than copied, since their offsets would point into the source.
/// </summary>
public static class FeatureShardAssembler
{
    private static readonly byte[] s_magic = "PAR1"u8.ToArray();

    /// <summary>
    /// Writes the shard made of <paramref name="picks"/> (source index, video id) to <paramref name="destination"/>, which
    /// only needs to be writable (it may be a pipe into an upload). Throws <see cref="InvalidDataException"/> naming the
    /// source for a malformed file, a video not alone in its row group, a video missing from its source, or sources whose
    /// schema or lineage differ. Returns the bytes written.
    /// </summary>
    public static async Task<long> AssembleAsync(IReadOnlyList<AssemblySource> sources, IReadOnlyList<(int Source, string VideoId)> picks, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(picks);
        ArgumentNullException.ThrowIfNull(destination);
        if (sources.Count == 0)
        {
            throw new ArgumentException("At least one source shard is needed (for the schema).", nameof(sources));
        }

        var footers = new List<Footer>(sources.Count);
        foreach (var source in sources)
        {
            footers.Add(await ReadFooterAsync(source, cancellationToken).ConfigureAwait(false));
        }

        var first = footers[0];
        for (var i = 1; i < footers.Count; i++)
        {
            if (!footers[i].Schema.AsSpan().SequenceEqual(first.Schema))
            {
                throw new InvalidDataException($"{sources[i].Name}: its Parquet schema differs from {sources[0].Name}'s; shards of different layouts cannot be assembled.");
            }

            if (Describe(footers[i].Lineage) != Describe(first.Lineage))
            {
                throw new InvalidDataException($"{sources[i].Name}: its lineage ({Describe(footers[i].Lineage)}) differs from {sources[0].Name}'s ({Describe(first.Lineage)}); " +
                    "were the encoder, its weights or the frame settings changed between runs? Features of different encoders cannot share a shard.");
            }
        }

        long position = 0;
        await destination.WriteAsync(s_magic, cancellationToken).ConfigureAwait(false);
        position += s_magic.Length;
        var rowGroups = new List<object>(picks.Count);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var buffer = new byte[1 << 20];
        foreach (var (sourceIndex, videoId) in picks)
        {
            var source = sources[sourceIndex];
            var footer = footers[sourceIndex];
            if (!footer.Index.TryGetValue(videoId, out var group))
            {
                throw new InvalidDataException($"{source.Name}: has no video '{videoId}'.");
            }

            var rowGroup = ((ThriftStruct)footer.RowGroups[group]).Copy();
            if (rowGroup.GetLong(3) != 1)
            {
                throw new InvalidDataException($"{source.Name}: video '{videoId}' shares its row group with {rowGroup.GetLong(3) - 1} other row(s); only one-video row groups can be copied.");
            }

            if (!index.TryAdd(videoId, rowGroups.Count))
            {
                throw new ArgumentException($"Video '{videoId}' is picked twice.", nameof(picks));
            }

            var columns = (ThriftList)rowGroup.Get(1)!;
            var copied = new List<object>(columns.Items.Count);
            long groupStart = -1;
            foreach (ThriftStruct column in columns.Items)
            {
                var chunk = column.Copy();
                var meta = ((ThriftStruct)(chunk.Get(3) ?? throw new InvalidDataException($"{source.Name}: a column chunk has no metadata."))).Copy();
                var dataOffset = meta.GetLong(9) ?? throw new InvalidDataException($"{source.Name}: a column chunk has no data page offset.");
                var start = meta.GetLong(11) is { } dictionary and > 0 ? Math.Min(dictionary, dataOffset) : dataOffset;
                var length = meta.GetLong(7) ?? throw new InvalidDataException($"{source.Name}: a column chunk has no compressed size.");
                if (start < 4 || length < 0 || start + length > footer.DataEnd)
                {
                    throw new InvalidDataException($"{source.Name}: column chunk at {start} (+{length}) lies outside the file's data.");
                }

                await CopyRangeAsync(source, start, length, destination, buffer, cancellationToken).ConfigureAwait(false);
                var delta = position - start;
                meta.Set(9, ThriftCompact.I64, dataOffset + delta);
                if (meta.GetLong(10) is { } indexPage and > 0)
                {
                    meta.Set(10, ThriftCompact.I64, indexPage + delta);
                }

                if (meta.GetLong(11) is { } dict and > 0)
                {
                    meta.Set(11, ThriftCompact.I64, dict + delta);
                }

                meta.Remove(14); // bloom filter offset and length: not copied
                meta.Remove(15);
                chunk.Set(3, ThriftCompact.Struct, meta);
                chunk.Set(2, ThriftCompact.I64, position);
                for (short dropped = 4; dropped <= 9; dropped++)
                {
                    chunk.Remove(dropped); // page index offsets/lengths and encryption: not copied
                }

                if (groupStart < 0)
                {
                    groupStart = position;
                }

                copied.Add(chunk);
                position += length;
            }

            rowGroup.Set(1, ThriftCompact.List, new ThriftList(ThriftCompact.List, ThriftCompact.Struct, copied));
            rowGroup.Set(5, ThriftCompact.I64, Math.Max(groupStart, 4));
            rowGroup.Set(7, ThriftCompact.I16, checked((short)Math.Min(rowGroups.Count, short.MaxValue)));
            rowGroups.Add(rowGroup);
        }

        var metadata = first.Root.Copy();
        metadata.Set(3, ThriftCompact.I64, (long)rowGroups.Count);
        metadata.Set(4, ThriftCompact.List, new ThriftList(ThriftCompact.List, ThriftCompact.Struct, rowGroups));
        var keyValues = first.Lineage.Select(kv => (object)KeyValue(kv.Key, kv.Value)).ToList();
        keyValues.Add(KeyValue(FeatureShardFormat.IndexKey, ShardIndex.Serialize(index)));
        metadata.Set(5, ThriftCompact.List, new ThriftList(ThriftCompact.List, ThriftCompact.Struct, keyValues));
        var footerBytes = ThriftCompact.Write(metadata);
        await destination.WriteAsync(footerBytes, cancellationToken).ConfigureAwait(false);
        var tail = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(tail, footerBytes.Length);
        s_magic.CopyTo(tail, 4);
        await destination.WriteAsync(tail, cancellationToken).ConfigureAwait(false);
        return position + footerBytes.Length + tail.Length;
    }

    private static ThriftStruct KeyValue(string key, string value) =>
        new([new ThriftField(1, ThriftCompact.Binary, Encoding.UTF8.GetBytes(key)), new ThriftField(2, ThriftCompact.Binary, Encoding.UTF8.GetBytes(value))]);

    private static string Describe(IReadOnlyList<KeyValuePair<string, string>> lineage) =>
        string.Join(", ", lineage.Where(kv => kv.Key is not (FeatureShardFormat.IndexKey or "videodata.tool_version")).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

    private static async Task CopyRangeAsync(AssemblySource source, long start, long length, Stream destination, byte[] buffer, CancellationToken cancellationToken)
    {
        source.Content.Seek(start, SeekOrigin.Begin);
        var left = length;
        while (left > 0)
        {
            var read = await source.Content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new InvalidDataException($"{source.Name}: ends inside a column chunk.");
            }

            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            left -= read;
        }
    }

    private static async Task<Footer> ReadFooterAsync(AssemblySource source, CancellationToken cancellationToken)
    {
        var stream = source.Content;
        var length = stream.Length;
        if (length < 12)
        {
            throw new InvalidDataException($"{source.Name}: {length} bytes is too short for a Parquet file.");
        }

        var tail = new byte[8];
        stream.Seek(length - 8, SeekOrigin.Begin);
        await stream.ReadExactlyAsync(tail, cancellationToken).ConfigureAwait(false);
        var footerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (!tail.AsSpan(4).SequenceEqual(s_magic) || footerLength <= 0 || footerLength > length - 12)
        {
            throw new InvalidDataException($"{source.Name}: not a Parquet file (no footer).");
        }

        var bytes = new byte[footerLength];
        stream.Seek(length - 8 - footerLength, SeekOrigin.Begin);
        await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        ThriftStruct root;
        try
        {
            root = ThriftCompact.ReadStruct(bytes);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{source.Name}: unreadable Parquet footer: {ex.Message}", ex);
        }

        if (root.Get(8) is not null || root.Get(9) is not null)
        {
            throw new InvalidDataException($"{source.Name}: encrypted Parquet footers are not supported.");
        }

        var schema = root.Get(2) is ThriftList schemaList ? ThriftCompact.Write(new ThriftStruct([new ThriftField(1, ThriftCompact.List, schemaList)])) : [];
        var rowGroups = root.Get(4) as ThriftList ?? new ThriftList(ThriftCompact.List, ThriftCompact.Struct, []);
        var lineage = new List<KeyValuePair<string, string>>();
        Dictionary<string, int>? index = null;
        foreach (ThriftStruct kv in (root.Get(5) as ThriftList)?.Items ?? [])
        {
            var key = Encoding.UTF8.GetString((byte[])(kv.Get(1) ?? Array.Empty<byte>()));
            var value = Encoding.UTF8.GetString((byte[])(kv.Get(2) ?? Array.Empty<byte>()));
            if (key == FeatureShardFormat.IndexKey)
            {
                index = ShardIndex.Parse(value, source.Name, rowGroups.Items.Count);
            }
            else
            {
                lineage.Add(new(key, value));
            }
        }

        if (index is null)
        {
            throw new InvalidDataException($"{source.Name}: has no video index ('{FeatureShardFormat.IndexKey}'); it was not written by the feature shard writer.");
        }

        return new Footer(root, schema, rowGroups.Items, lineage, index, length - 8 - footerLength);
    }

    private sealed record Footer(ThriftStruct Root, byte[] Schema, List<object> RowGroups, List<KeyValuePair<string, string>> Lineage, Dictionary<string, int> Index, long DataEnd);
}

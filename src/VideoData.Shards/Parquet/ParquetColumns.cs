using Parquet;
using Parquet.Schema;

namespace VideoData.Shards;

/// <summary>The values and levels of one leaf column of one row group, as Parquet stores them.</summary>
/// <param name="Values">The defined values only (one per level entry whose definition reaches the leaf's maximum).</param>
/// <param name="Definitions">One definition level per entry.</param>
/// <param name="Repetitions">One repetition level per entry (0 opens a row).</param>
internal readonly record struct LeafColumn<T>(T[] Values, int[] Definitions, int[] Repetitions);

/// <summary>
/// The one column-reading layer of the shard formats: opening a Parquet file with a message that names it, reading a
/// leaf column's raw values and levels, and rebuilding <c>list&lt;struct&lt;start, end, text, token_ids&gt;&gt;</c> caption
/// lists, which feature shards (column <c>captions</c>) and caption tables (column <c>segments</c>) share.
/// </summary>
/// <remarks>
/// Invariants kept: every level array is sized from the column chunk's own <c>num_values</c> (never from a row count the
/// caller trusts), and a caption list that does not line up with the row group's rows is refused with an
/// <see cref="InvalidDataException"/> naming the file, never silently truncated.
/// </remarks>
internal static class ParquetColumns
{
    /// <summary>
    /// Opens a Parquet reader over <paramref name="stream"/> (left open). A stream that is not a Parquet file gives an
    /// <see cref="InvalidDataException"/> whose message is <paramref name="failure"/>, a colon and Parquet.Net's reason.
    /// </summary>
    public static async Task<ParquetReader> OpenAsync(Stream stream, string failure, CancellationToken cancellationToken)
    {
        try
        {
            return await ParquetReader.CreateAsync(stream, null, leaveStreamOpen: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new InvalidDataException($"{failure}: {ex.Message}", ex);
        }
    }

    /// <summary>The schema's leaf columns by their dotted path with <c>/</c> separators (e.g. <c>captions/list/element/start</c>).</summary>
    public static Dictionary<string, DataField> Leaves(ParquetReader reader) =>
        reader.Schema.GetDataFields().ToDictionary(f => f.Path.ToString(), StringComparer.Ordinal);

    /// <summary>Reads every value and level of <paramref name="field"/> in <paramref name="group"/>.</summary>
    public static async Task<LeafColumn<T>> ReadAsync<T>(ParquetRowGroupReader group, DataField field, CancellationToken cancellationToken)
        where T : struct
    {
        var levels = checked((int)(group.GetMetadata(field)?.MetaData?.NumValues
            ?? throw new InvalidDataException($"Parquet column {field.Path} has no metadata.")));
        var values = new T[levels];
        var definitions = new int[levels];
        var repetitions = new int[levels];
        await group.ReadRawAsync<T>(field, values.AsMemory(), definitions.AsMemory(), repetitions.AsMemory(), cancellationToken).ConfigureAwait(false);
        return new LeafColumn<T>(values, definitions, repetitions);
    }

    /// <summary>
    /// Rebuilds every row's caption list of one row group from the four leaves under <paramref name="listPrefix"/>
    /// (<c>captions/list/element/</c> or <c>segments/list/element/</c>): <c>start</c>, <c>end</c>, <c>text</c> and
    /// <c>token_ids/list/element</c>. <paramref name="where"/> names the file in messages.
    /// </summary>
    /// <exception cref="InvalidDataException">The lists do not line up with the <paramref name="rows"/> rows or with each other.</exception>
    public static async Task<List<CaptionSegment>[]> ReadCaptionListsAsync(
        ParquetRowGroupReader group, IReadOnlyDictionary<string, DataField> leaves, string listPrefix, int rows, string where, CancellationToken cancellationToken)
    {
        var startField = leaves[listPrefix + "start"];
        var tokenField = leaves[listPrefix + "token_ids/list/element"];
        var column = listPrefix[..listPrefix.IndexOf('/', StringComparison.Ordinal)];
        var starts = await ReadAsync<double>(group, startField, cancellationToken).ConfigureAwait(false);
        var ends = await ReadAsync<double>(group, leaves[listPrefix + "end"], cancellationToken).ConfigureAwait(false);
        var texts = await ReadAsync<ReadOnlyMemory<char>>(group, leaves[listPrefix + "text"], cancellationToken).ConfigureAwait(false);
        var tokens = await ReadAsync<int>(group, tokenField, cancellationToken).ConfigureAwait(false);

        // The segment struct exists where the start leaf reaches its full definition level; a new row begins at
        // repetition level 0. Values are stored only for fully defined leaves, so a counter walks each value array.
        var result = new List<CaptionSegment>[rows];
        var segmentLevel = startField.MaxDefinitionLevel;
        var row = -1;
        var value = 0;
        for (var i = 0; i < starts.Repetitions.Length; i++)
        {
            if (starts.Repetitions[i] == 0)
            {
                if (++row >= rows)
                {
                    throw new InvalidDataException($"{where}: the {column} column has more lists than the row group's {rows} rows.");
                }

                result[row] = [];
            }
            else if (row < 0)
            {
                throw new InvalidDataException($"{where}: the {column} column does not start a row at its first value.");
            }

            if (starts.Definitions[i] == segmentLevel)
            {
                result[row].Add(new CaptionSegment(starts.Values[value], ends.Values[value], texts.Values[value].ToString(), []));
                value++;
            }
        }

        if (row != rows - 1)
        {
            throw new InvalidDataException($"{where}: the {column} column has {row + 1} lists for {rows} rows.");
        }

        // token_ids: repetition 0 opens a row, 1 opens the next segment of the row, 2 continues the segment's list.
        row = -1;
        var segment = -1;
        var tokenValue = 0;
        var current = new List<int>();
        for (var i = 0; i < tokens.Repetitions.Length; i++)
        {
            if (tokens.Repetitions[i] <= 1)
            {
                Flush();
                if (tokens.Repetitions[i] == 0)
                {
                    row++;
                    segment = -1;
                }

                if (tokens.Definitions[i] >= segmentLevel)
                {
                    segment++;
                    if (row < 0 || row >= rows || segment >= result[row].Count)
                    {
                        throw new InvalidDataException($"{where}: the token_ids of the {column} column do not line up with its segments.");
                    }
                }
            }

            if (tokens.Definitions[i] == tokenField.MaxDefinitionLevel)
            {
                current.Add(tokens.Values[tokenValue++]);
            }
        }

        Flush();
        return result;

        void Flush()
        {
            if (row >= 0 && segment >= 0)
            {
                result[row][segment] = result[row][segment] with { TokenIds = [.. current] };
            }

            current.Clear();
        }
    }
}

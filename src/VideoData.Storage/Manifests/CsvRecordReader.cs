using Sylvan.Data.Csv;

namespace VideoData.Storage.Manifests;

/// <summary>
/// RFC 4180 records through Sylvan.Data.Csv: comma-separated, fields optionally in double quotes (<c>""</c> for a
/// quote), CRLF or LF line ends; a quoted field keeps its line breaks, bare CR included; text after a closing quote
/// (<c>"a"b</c>) and a quote left open at the end are malformed. No comment lines (every line is data).
/// </summary>
/// <remarks>
/// Sylvan.Data.Csv (MIT, maintained) was chosen over Sep because it bounds a record's memory itself: the buffer that
/// holds the current record grows to <c>MaxBufferSize</c> and no further, so a line over
/// <see cref="ManifestOptions.MaxLineLength"/> is refused before it is held whole, and it reports the malformed cases
/// above as errors carrying the record number (ManifestReaderTests check each).
/// </remarks>
internal sealed class CsvRecordReader : IAsyncDisposable
{
    private const int InitialBuffer = 0x4000;
    private readonly CsvDataReader _reader;

    private CsvRecordReader(CsvDataReader reader) => _reader = reader;

    /// <summary>Opens <paramref name="reader"/>; a record longer than <paramref name="maxLineLength"/> characters fails the read.</summary>
    public static async Task<CsvRecordReader> CreateAsync(TextReader reader, int maxLineLength, CancellationToken cancellationToken)
    {
        var options = new CsvDataReaderOptions
        {
            HasHeaders = false,
            Delimiter = ',',
            Quote = '"',
            Escape = '"',
            CsvStyle = CsvStyle.Standard,

            // Sylvan skips lines that start with the comment character; NUL starts no real manifest line, '#' could.
            Comment = '\0',
            BufferSize = Math.Min(InitialBuffer, maxLineLength),
            MaxBufferSize = maxLineLength,
            OwnsReader = false,
        };
        return new CsvRecordReader(await CsvDataReader.CreateAsync(reader, options, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// The next record's fields, or null at the end of the input. A field longer than <paramref name="maxFieldLength"/> is
    /// returned as null (the caller reports it) without being copied. Throws <see cref="CsvFormatException"/> for a
    /// malformed or over-long record; the input cannot be read on after that.
    /// </summary>
    public async ValueTask<List<string?>?> ReadRecordAsync(int maxFieldLength, CancellationToken cancellationToken)
    {
        if (!await _reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var fields = new List<string?>(_reader.RowFieldCount);
        for (var i = 0; i < _reader.RowFieldCount; i++)
        {
            fields.Add(_reader.GetFieldSpan(i).Length > maxFieldLength ? null : _reader.GetString(i));
        }

        return fields;
    }

    public ValueTask DisposeAsync() => _reader.DisposeAsync();
}

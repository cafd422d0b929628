using System.Globalization;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using VideoData.Storage.Blobs;

namespace VideoData.Storage.Manifests;

/// <summary>
/// Reads and validates corpus manifests (CSV, JSON Lines, Parquet). Columns: <c>video_id</c> (required),
/// <c>uri</c> (required unless <see cref="ManifestOptions.UriTemplate"/> is set), optional <c>caption_uri</c>
/// and <c>duration</c> (seconds); other columns are ignored (the HowTo100M metadata CSV has
/// <c>category_1,category_2,rank,task_id</c>). Every row is checked; all problems are collected and
/// reported together in one <see cref="ManifestException"/>.
/// </summary>
public static class ManifestReader
{
    private const int KeptProblems = 1000;

    /// <summary>Reads the manifest at <paramref name="uri"/> (any location <paramref name="resolver"/> resolves).</summary>
    public static async Task<IReadOnlyList<ManifestEntry>> ReadAsync(string uri, BlobStoreResolver resolver, ManifestOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        var (store, key) = resolver.Resolve(uri);
        var stream = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await ReadAsync(stream, uri, options, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a manifest from <paramref name="stream"/>; <paramref name="name"/> names it in messages and, with
    /// <see cref="ManifestFormat.Auto"/>, decides the format by its extension. Parquet needs a seekable stream.
    /// </summary>
    public static async Task<IReadOnlyList<ManifestEntry>> ReadAsync(Stream stream, string name, ManifestOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var format = options.Format == ManifestFormat.Auto ? FormatOf(name) : options.Format;
        var builder = new Builder(name, options);
        switch (format)
        {
            case ManifestFormat.Csv:
                await ReadCsvAsync(stream, builder, cancellationToken).ConfigureAwait(false);
                break;
            case ManifestFormat.JsonLines:
                await ReadJsonLinesAsync(stream, builder, cancellationToken).ConfigureAwait(false);
                break;
            case ManifestFormat.Parquet:
                await ReadParquetAsync(stream, builder, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), format, "Unknown manifest format.");
        }

        return builder.Finish();
    }

    /// <summary>The format a manifest file name implies; throws <see cref="FormatException"/> for an unknown extension.</summary>
    public static ManifestFormat FormatOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var lower = name.ToLowerInvariant();
        return lower switch
        {
            _ when lower.EndsWith(".csv", StringComparison.Ordinal) => ManifestFormat.Csv,
            _ when lower.EndsWith(".jsonl", StringComparison.Ordinal) || lower.EndsWith(".ndjson", StringComparison.Ordinal) => ManifestFormat.JsonLines,
            _ when lower.EndsWith(".parquet", StringComparison.Ordinal) => ManifestFormat.Parquet,
            _ => throw new FormatException($"Manifest '{name}': cannot tell the format from the name; use .csv, .jsonl, .ndjson or .parquet, or give the format."),
        };
    }

    private static async Task ReadCsvAsync(Stream stream, Builder builder, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        var csv = await CsvRecordReader.CreateAsync(reader, builder.Options.MaxLineLength, cancellationToken).ConfigureAwait(false);
        await using (csv.ConfigureAwait(false))
        {
            try
            {
                await ReadCsvRecordsAsync(csv, builder, cancellationToken).ConfigureAwait(false);
            }
            catch (Sylvan.Data.Csv.CsvFormatException ex)
            {
                // Sylvan cannot resynchronise after a malformed or over-long record: the problem is reported at its row and
                // reading stops (the manifest is refused as a whole anyway).
                var what = ex is Sylvan.Data.Csv.CsvRecordTooLargeException
                    ? $"the line is longer than {builder.Options.MaxLineLength} characters (ManifestOptions.MaxLineLength); reading stopped here"
                    : $"is not valid CSV (RFC 4180): {ex.Message}; reading stopped here";
                builder.RowProblem(null, what);
            }
        }
    }

    private static async Task ReadCsvRecordsAsync(CsvRecordReader csv, Builder builder, CancellationToken cancellationToken)
    {
        var maxField = builder.Options.MaxFieldLength;
        var header = await csv.ReadRecordAsync(maxField, cancellationToken).ConfigureAwait(false);
        if (header is null)
        {
            builder.FileProblem("the file is empty (no header row)");
            return;
        }

        if (header.Any(h => h is null))
        {
            builder.FileProblem($"a header field is longer than {maxField} characters (ManifestOptions.MaxFieldLength)");
            return;
        }

        var columns = header.Select(h => h!.Trim()).ToList();
        if (!builder.SetColumns(columns))
        {
            return;
        }

        int Index(string column) => columns.FindIndex(c => c.Equals(column, StringComparison.OrdinalIgnoreCase));
        var idColumn = Index("video_id");
        var uriColumn = Index("uri");
        var captionColumn = Index("caption_uri");
        var durationColumn = Index("duration");
        while (await csv.ReadRecordAsync(maxField, cancellationToken).ConfigureAwait(false) is { } record)
        {
            if (record.Count == 1 && record[0]?.Length == 0)
            {
                continue;
            }

            string? Field(int i) => i >= 0 && i < record.Count ? record[i] : null;
            if (record.Count != columns.Count)
            {
                builder.RowProblem(Field(idColumn), $"has {record.Count} fields, the header has {columns.Count}");
                continue;
            }

            if (record.IndexOf(null) is var tooLong and >= 0)
            {
                builder.RowProblem(Field(idColumn), $"field '{columns[tooLong]}' is longer than {maxField} characters (ManifestOptions.MaxFieldLength)");
                continue;
            }

            builder.Add(Field(idColumn), Field(uriColumn), Field(captionColumn), ParseDuration(Field(durationColumn)));
        }
    }

    private static async Task ReadJsonLinesAsync(Stream stream, Builder builder, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        builder.SetColumns(null);
        var lines = new BoundedLineReader(reader, builder.Options.MaxLineLength);
        while (await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.TooLong)
            {
                builder.RowProblem(null, $"the line is longer than {builder.Options.MaxLineLength} characters (ManifestOptions.MaxLineLength)");
                continue;
            }

            if (string.IsNullOrWhiteSpace(line.Text))
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line.Text);
            }
            catch (JsonException ex)
            {
                builder.RowProblem(null, $"is not valid JSON ({ex.Message})");
                continue;
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    builder.RowProblem(null, "is not a JSON object");
                    continue;
                }

                var root = document.RootElement;
                string? Text(string property, out string? problem)
                {
                    problem = null;
                    if (!root.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
                    {
                        return null;
                    }

                    if (value.ValueKind != JsonValueKind.String)
                    {
                        problem = $"'{property}' is a JSON {value.ValueKind.ToString().ToLowerInvariant()}, not a string";
                        return null;
                    }

                    var text = value.GetString();
                    if (text is { Length: var length } && length > builder.Options.MaxFieldLength)
                    {
                        problem = $"field '{property}' is longer than {builder.Options.MaxFieldLength} characters (ManifestOptions.MaxFieldLength)";
                        return null;
                    }

                    return text;
                }

                var id = Text("video_id", out var idProblem);
                var uri = Text("uri", out var uriProblem);
                var caption = Text("caption_uri", out var captionProblem);
                Duration duration = default;
                if (root.TryGetProperty("duration", out var d) && d.ValueKind != JsonValueKind.Null)
                {
                    duration = d.ValueKind == JsonValueKind.Number ? new Duration(d.GetDouble(), null)
                        : d.ValueKind == JsonValueKind.String ? ParseDuration(d.GetString())
                        : new Duration(null, $"'duration' is a JSON {d.ValueKind.ToString().ToLowerInvariant()}, not a number");
                }

                if ((idProblem ?? uriProblem ?? captionProblem) is { } typeProblem)
                {
                    builder.RowProblem(id, typeProblem);
                    continue;
                }

                if (id is null && !root.TryGetProperty("video_id", out _))
                {
                    builder.RowProblem(null, "has no 'video_id'");
                    continue;
                }

                builder.Add(id, uri, caption, duration);
            }
        }
    }

    private static async Task ReadParquetAsync(Stream stream, Builder builder, CancellationToken cancellationToken)
    {
        Stream seekable = stream;
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            copy.Position = 0;
            seekable = copy;
        }

        var reader = await ParquetReader.CreateAsync(seekable, leaveStreamOpen: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            await ReadParquetRowsAsync(reader, builder, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task ReadParquetRowsAsync(ParquetReader reader, Builder builder, CancellationToken cancellationToken)
    {
        var fields = reader.Schema.GetDataFields();
        if (!builder.SetColumns(fields.Select(f => f.Name).ToList()))
        {
            return;
        }

        DataField? Find(string name) => fields.FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        var idField = Find("video_id")!;
        var uriField = Find("uri");
        var captionField = Find("caption_uri");
        var durationField = Find("duration");
        foreach (var field in new[] { idField, uriField, captionField })
        {
            if (field is not null && field.ClrType != typeof(string) && field.ClrType != typeof(ReadOnlyMemory<char>))
            {
                builder.FileProblem($"column '{field.Name}' has type {field.ClrType.Name}, expected a string column");
                return;
            }
        }

        if (durationField is not null && !IsNumeric(durationField.ClrType))
        {
            builder.FileProblem($"column 'duration' has type {durationField.ClrType.Name}, expected a number column");
            return;
        }

        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var rows = checked((int)group.RowCount);
            var ids = await ReadStringsAsync(group, idField, rows, cancellationToken).ConfigureAwait(false);
            var uris = uriField is null ? null : await ReadStringsAsync(group, uriField, rows, cancellationToken).ConfigureAwait(false);
            var captions = captionField is null ? null : await ReadStringsAsync(group, captionField, rows, cancellationToken).ConfigureAwait(false);
            var durations = durationField is null ? null : await ReadNumbersAsync(group, durationField, rows, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                builder.Add(ids[i], uris?[i], captions?[i], durations is null ? default : new Duration(durations[i], null));
            }
        }
    }

    private static async Task<string?[]> ReadStringsAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var values = new string?[rows];
        await group.ReadAsync(field, values.AsMemory()!, null, cancellationToken).ConfigureAwait(false);
        return values;
    }

    private static bool IsNumeric(Type type) =>
        type == typeof(double) || type == typeof(float) || type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(decimal);

    private static async Task<double?[]> ReadNumbersAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var type = field.ClrType;
        if (type == typeof(double))
        {
            return await ReadAsAsync<double>(group, field, rows, v => v, cancellationToken).ConfigureAwait(false);
        }

        if (type == typeof(float))
        {
            return await ReadAsAsync<float>(group, field, rows, v => v, cancellationToken).ConfigureAwait(false);
        }

        if (type == typeof(int))
        {
            return await ReadAsAsync<int>(group, field, rows, v => v, cancellationToken).ConfigureAwait(false);
        }

        if (type == typeof(long))
        {
            return await ReadAsAsync<long>(group, field, rows, v => v, cancellationToken).ConfigureAwait(false);
        }

        if (type == typeof(short))
        {
            return await ReadAsAsync<short>(group, field, rows, v => v, cancellationToken).ConfigureAwait(false);
        }

        return await ReadAsAsync<decimal>(group, field, rows, v => (double)v, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<double?[]> ReadAsAsync<T>(ParquetRowGroupReader group, DataField field, int rows, Func<T, double> convert, CancellationToken cancellationToken)
        where T : struct
    {
        var result = new double?[rows];
        if (field.IsNullable)
        {
            var values = new T?[rows];
            await group.ReadAsync<T>(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                result[i] = values[i] is { } v ? convert(v) : null;
            }
        }
        else
        {
            var values = new T[rows];
            await group.ReadAsync<T>(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                result[i] = convert(values[i]);
            }
        }

        return result;
    }

    private static Duration ParseDuration(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return default;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? new Duration(value, null)
            : new Duration(null, $"duration '{BlobKeys.Printable(text)}' is not a number");
    }

    private readonly record struct Duration(double? Seconds, string? Problem);

    /// <summary>Collects entries and problems row by row and throws once at the end.</summary>
    private sealed class Builder(string source, ManifestOptions options)
    {
        public ManifestOptions Options => options;

        private readonly List<ManifestEntry> _entries = [];
        private readonly List<ManifestProblem> _problems = [];
        private readonly Dictionary<string, long> _firstRow = new(StringComparer.Ordinal);
        private long _problemCount;
        private long _row;
        private bool _hasUriColumn;

        /// <summary>Checks the columns; null means "per row" (JSON Lines). Returns false when the file cannot be read on.</summary>
        public bool SetColumns(IReadOnlyList<string>? columns)
        {
            if (columns is null)
            {
                _hasUriColumn = true;
                return true;
            }

            bool Has(string name) => columns.Any(c => c.Equals(name, StringComparison.OrdinalIgnoreCase));
            var listed = string.Join(", ", columns.Select(c => $"'{c}'"));
            if (!Has("video_id"))
            {
                FileProblem($"missing required column 'video_id' (columns: {listed})");
                return false;
            }

            _hasUriColumn = Has("uri");
            if (!_hasUriColumn && options.UriTemplate is null)
            {
                FileProblem($"missing column 'uri' and no URI template given (e.g. s3://bucket/videos/{ManifestOptions.VideoIdPlaceholder}.mp4) (columns: {listed})");
                return false;
            }

            return true;
        }

        public void FileProblem(string message)
        {
            _problemCount++;
            _problems.Add(new ManifestProblem(0, null, message));
        }

        public void RowProblem(string? videoId, string message)
        {
            _row++;
            Problem(videoId, message);
        }

        public void Add(string? videoId, string? uri, string? captionUri, Duration duration)
        {
            _row++;
            if (_row > options.MaxRows)
            {
                if (_row == options.MaxRows + 1)
                {
                    Problem(null, $"the manifest has more than {options.MaxRows} rows (ManifestOptions.MaxRows)");
                }

                return;
            }

            var id = videoId?.Trim();
            if (VideoIds.Problem(id, options.MaxVideoIdLength) is { } idProblem)
            {
                Problem(id, idProblem);
                return;
            }

            var problemsBefore = _problemCount;
            if (_firstRow.TryGetValue(id!, out var first))
            {
                Problem(id, $"duplicate video id (first at row {first})");
            }
            else
            {
                _firstRow[id!] = _row;
            }

            var resolvedUri = options.UriTemplate?.Replace(ManifestOptions.VideoIdPlaceholder, id, StringComparison.Ordinal) ?? uri?.Trim();
            if (string.IsNullOrEmpty(resolvedUri))
            {
                Problem(id, _hasUriColumn ? "the uri is empty" : "no uri");
            }
            else if (ManifestUris.Problem(resolvedUri, options.LocalRoot) is { } uriProblem)
            {
                Problem(id, $"uri {uriProblem}");
            }

            var caption = options.CaptionUriTemplate?.Replace(ManifestOptions.VideoIdPlaceholder, id, StringComparison.Ordinal) ?? NullIfEmpty(captionUri?.Trim());
            if (caption is not null && ManifestUris.Problem(caption, options.LocalRoot) is { } captionProblem)
            {
                Problem(id, $"caption_uri {captionProblem}");
            }

            if (duration.Problem is { } durationProblem)
            {
                Problem(id, durationProblem);
            }
            else if (duration.Seconds is { } seconds && (!double.IsFinite(seconds) || seconds < 0 || seconds > options.MaxDurationSeconds))
            {
                Problem(id, $"duration {seconds.ToString(CultureInfo.InvariantCulture)} is outside [0, {options.MaxDurationSeconds.ToString(CultureInfo.InvariantCulture)}] seconds");
            }

            if (_problemCount == problemsBefore)
            {
                _entries.Add(new ManifestEntry(id!, resolvedUri!, caption, duration.Seconds, _row));
            }
        }

        public IReadOnlyList<ManifestEntry> Finish()
        {
            if (_problemCount > 0)
            {
                throw new ManifestException(source, _problems, _problemCount);
            }

            return _entries;
        }

        private void Problem(string? videoId, string message)
        {
            _problemCount++;
            if (_problems.Count < KeptProblems)
            {
                _problems.Add(new ManifestProblem(_row, string.IsNullOrEmpty(videoId) ? null : videoId, message));
            }
        }

        private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
    }
}

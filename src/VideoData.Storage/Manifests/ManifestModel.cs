using VideoData.Storage.Blobs;

namespace VideoData.Storage.Manifests;

/// <summary>The file format of a corpus manifest.</summary>
public enum ManifestFormat
{
    /// <summary>From the file name: <c>.csv</c>, <c>.jsonl</c>/<c>.ndjson</c>, <c>.parquet</c> (each optionally <c>.gz</c>-less; compressed manifests are not read).</summary>
    Auto,

    /// <summary>RFC 4180 CSV with a header row.</summary>
    Csv,

    /// <summary>One JSON object per line.</summary>
    JsonLines,

    /// <summary>Apache Parquet with flat columns.</summary>
    Parquet,
}

/// <summary>One video of a corpus manifest, validated.</summary>
/// <param name="VideoId">The video id (safe: see <see cref="VideoIds.Problem"/>).</param>
/// <param name="Uri">Where the video is: <c>s3://bucket/key</c> or a path relative to the manifest's local root.</param>
/// <param name="CaptionUri">Where its captions are, when the manifest says.</param>
/// <param name="DurationSeconds">Its duration in seconds, when the manifest says.</param>
/// <param name="Row">1-based data row (header excluded) the entry came from, for messages.</param>
public sealed record ManifestEntry(string VideoId, string Uri, string? CaptionUri, double? DurationSeconds, long Row);

/// <summary>How a manifest is read and validated.</summary>
public sealed class ManifestOptions
{
    /// <summary>The placeholder a URI template must contain.</summary>
    public const string VideoIdPlaceholder = "{video_id}";

    /// <summary>
    /// Builds each video's URI from its id, e.g. <c>s3://bucket/videos/{video_id}.mp4</c>, for manifests without a
    /// <c>uri</c> column (the HowTo100M metadata CSV). When set, it is used even if a <c>uri</c> column exists.
    /// </summary>
    public string? UriTemplate { get; set; }

    /// <summary>Builds each video's caption URI from its id, for manifests without a <c>caption_uri</c> column.</summary>
    public string? CaptionUriTemplate { get; set; }

    /// <summary>The folder plain (relative) paths are relative to; they may not leave it. Default: the current directory.</summary>
    public string? LocalRoot { get; set; }

    /// <summary>The file format; <see cref="ManifestFormat.Auto"/> (default) goes by the file name.</summary>
    public ManifestFormat Format { get; set; } = ManifestFormat.Auto;

    /// <summary>The longest accepted video id. Default 128, range 11–1024.</summary>
    public int MaxVideoIdLength { get; set; } = 128;

    /// <summary>The longest accepted duration in seconds. Default 86,400 (one day).</summary>
    public double MaxDurationSeconds { get; set; } = 86_400;

    /// <summary>The most rows accepted (a guard against a wrong file). Default 50,000,000.</summary>
    public long MaxRows { get; set; } = 50_000_000;

    /// <summary>
    /// The longest accepted line in characters (a CSV record, quoted line breaks included, or a JSON Lines line); a longer
    /// one is refused with its row named, holding at most this much of it in memory. Default 65,536, range 256–67,108,864.
    /// </summary>
    public int MaxLineLength { get; set; } = 65_536;

    /// <summary>The longest accepted field (a CSV field or a JSON string value) in characters. Default 16,384, range 64–<see cref="MaxLineLength"/>.</summary>
    public int MaxFieldLength { get; set; } = 16_384;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option and its value.</summary>
    public void Validate()
    {
        if (MaxLineLength is < 256 or > 64 * 1024 * 1024)
        {
            throw new ArgumentException($"Manifest option MaxLineLength = '{MaxLineLength}' is invalid: expected 256 to 67108864.", nameof(MaxLineLength));
        }

        if (MaxFieldLength < 64 || MaxFieldLength > MaxLineLength)
        {
            throw new ArgumentException($"Manifest option MaxFieldLength = '{MaxFieldLength}' is invalid: expected 64 to MaxLineLength ({MaxLineLength}).", nameof(MaxFieldLength));
        }

        ValidateTemplate(UriTemplate, nameof(UriTemplate));
        ValidateTemplate(CaptionUriTemplate, nameof(CaptionUriTemplate));
        if (MaxVideoIdLength is < 11 or > 1024)
        {
            throw new ArgumentException($"Manifest option MaxVideoIdLength = '{MaxVideoIdLength}' is invalid: expected 11 to 1024.", nameof(MaxVideoIdLength));
        }

        if (!double.IsFinite(MaxDurationSeconds) || MaxDurationSeconds <= 0)
        {
            throw new ArgumentException($"Manifest option MaxDurationSeconds = '{MaxDurationSeconds}' is invalid: expected a positive number.", nameof(MaxDurationSeconds));
        }

        if (MaxRows < 1)
        {
            throw new ArgumentException($"Manifest option MaxRows = '{MaxRows}' is invalid: expected at least 1.", nameof(MaxRows));
        }
    }

    private void ValidateTemplate(string? template, string name)
    {
        if (template is null)
        {
            return;
        }

        if (!template.Contains(VideoIdPlaceholder, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Manifest option {name} = '{template}' is invalid: it must contain {VideoIdPlaceholder}.", name);
        }

        // The template with a harmless id must be a location we accept.
        var sample = template.Replace(VideoIdPlaceholder, "sample", StringComparison.Ordinal);
        if (ManifestUris.Problem(sample, LocalRoot) is { } problem)
        {
            throw new ArgumentException($"Manifest option {name} = '{template}' is invalid: {problem}.", name);
        }
    }
}

/// <summary>One problem found in a manifest.</summary>
/// <param name="Row">1-based data row (header excluded); 0 for a problem of the whole file (a missing column).</param>
/// <param name="VideoId">The row's video id, when it has one.</param>
/// <param name="Message">What is wrong.</param>
public sealed record ManifestProblem(long Row, string? VideoId, string Message)
{
    /// <summary><c>row 12 (video 'abc'): message</c>.</summary>
    public override string ToString() =>
        Row == 0 ? Message : VideoId is null ? $"row {Row}: {Message}" : $"row {Row} (video '{BlobKeys.Printable(VideoId)}'): {Message}";
}

/// <summary>A manifest failed validation. The message names the manifest and lists the first 20 problems and their count.</summary>
public sealed class ManifestException : VideoData.Core.Failures.UserFacingException
{
    /// <summary>How many problems the message lists.</summary>
    public const int ListedProblems = 20;

    /// <summary><c>manifest</c>.</summary>
    public override string FailureClassName => "manifest";

    /// <summary>Creates the exception for <paramref name="source"/> with its problems (all of them, or the first of many).</summary>
    public ManifestException(string source, IReadOnlyList<ManifestProblem> problems, long totalProblems)
        : base(Format(source, problems, totalProblems), source)
    {
        ManifestName = source;
        Problems = problems;
        TotalProblems = totalProblems;
    }

    /// <summary>The manifest's name or URI.</summary>
    public string ManifestName { get; }

    /// <summary>The problems kept (at most a few thousand).</summary>
    public IReadOnlyList<ManifestProblem> Problems { get; }

    /// <summary>How many problems were found in all.</summary>
    public long TotalProblems { get; }

    private static string Format(string source, IReadOnlyList<ManifestProblem> problems, long total)
    {
        var builder = new System.Text.StringBuilder();
        builder.Append($"Manifest '{source}' is invalid: {total} problem{(total == 1 ? "" : "s")}");
        builder.Append(total > ListedProblems ? $" (first {ListedProblems} listed):" : ":");
        foreach (var problem in problems.Take(ListedProblems))
        {
            builder.Append("\n  ").Append(problem);
        }

        if (total > ListedProblems)
        {
            builder.Append($"\n  ... and {total - ListedProblems} more.");
        }

        return builder.ToString();
    }
}

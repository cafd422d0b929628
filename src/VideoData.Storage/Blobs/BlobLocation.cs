namespace VideoData.Storage.Blobs;

/// <summary>Where a URI points: which store (an S3 bucket or a local folder) and which key in it.</summary>
/// <param name="Scheme"><c>s3</c> or <c>file</c>.</param>
/// <param name="Container">The bucket for S3; the root folder (absolute path) for files.</param>
/// <param name="Key">The key within the container; empty for the container itself (a listing of everything).</param>
public sealed record BlobLocation(string Scheme, string Container, string Key)
{
    /// <summary>
    /// Parses <c>s3://bucket/key</c>, <c>file:///abs/path</c> (the store is the file system root) or a plain
    /// path, which is taken relative to <paramref name="root"/> (default: the current directory) and must stay
    /// inside it. Throws <see cref="FormatException"/> naming the URI and the problem.
    /// </summary>
    public static BlobLocation Parse(string uri, string? root = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (TryParse(uri, root, out var location, out var problem))
        {
            return location;
        }

        throw new FormatException($"Invalid location '{BlobKeys.Printable(uri)}': {problem}.");
    }

    /// <summary>Like <see cref="Parse"/>, returning the problem instead of throwing.</summary>
    public static bool TryParse(string uri, string? root, out BlobLocation location, out string problem)
    {
        ArgumentNullException.ThrowIfNull(uri);
        location = null!;
        problem = "";
        if (uri.Length == 0)
        {
            problem = "it is empty";
            return false;
        }

        if (uri.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            var rest = uri[5..];
            var slash = rest.IndexOf('/');
            var bucket = slash < 0 ? rest : rest[..slash];
            var key = slash < 0 ? "" : rest[(slash + 1)..];
            if (BucketProblem(bucket) is { } bucketProblem)
            {
                problem = $"bucket '{bucket}': {bucketProblem}";
                return false;
            }

            if (!KeyOrPrefixOk(key, out problem))
            {
                return false;
            }

            location = new BlobLocation("s3", bucket, key);
            return true;
        }

        if (uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var fileUri) || !fileUri.IsFile || !string.IsNullOrEmpty(fileUri.Host) && fileUri.Host != "localhost")
            {
                problem = "a file URI must be file:///absolute/path";
                return false;
            }

            var key = fileUri.LocalPath.TrimStart('/');
            if (!KeyOrPrefixOk(key, out problem))
            {
                return false;
            }

            location = new BlobLocation("file", "/", key);
            return true;
        }

        if (uri.Contains("://", StringComparison.Ordinal))
        {
            problem = "only s3:// and file:// URIs and plain paths are supported";
            return false;
        }

        if (Path.IsPathRooted(uri))
        {
            var full = Path.GetFullPath(uri);
            if (!KeyOrPrefixOk(full.TrimStart('/'), out problem))
            {
                return false;
            }

            location = new BlobLocation("file", "/", full.TrimStart('/'));
            return true;
        }

        var rootPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root ?? Directory.GetCurrentDirectory()));
        var relative = uri.Replace('\\', '/');
        if (relative is "." or "./")
        {
            relative = "";
        }
        else if (relative.StartsWith("./", StringComparison.Ordinal))
        {
            relative = relative[2..];
        }

        if (!KeyOrPrefixOk(relative, out problem))
        {
            problem = $"{problem} (plain paths are relative to the root '{rootPath}' and may not leave it)";
            return false;
        }

        location = new BlobLocation("file", rootPath, relative);
        return true;
    }

    /// <summary>The URI of this location (<c>s3://bucket/key</c> or <c>file:///path</c>).</summary>
    public override string ToString() => Scheme == "s3"
        ? $"s3://{Container}/{Key}"
        : new Uri(Path.Combine(Container, Key)).AbsoluteUri;

    /// <summary>Returns why <paramref name="bucket"/> is not a valid S3 bucket name, or null.</summary>
    public static string? BucketProblem(string bucket)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        if (bucket.Length is < 3 or > 63)
        {
            return "a bucket name has 3 to 63 characters";
        }

        foreach (var c in bucket)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.'))
            {
                return "a bucket name has only lower-case letters, digits, '-' and '.'";
            }
        }

        if (!char.IsAsciiLetterOrDigit(bucket[0]) || !char.IsAsciiLetterOrDigit(bucket[^1]))
        {
            return "a bucket name starts and ends with a letter or digit";
        }

        return bucket.Contains("..", StringComparison.Ordinal) ? "a bucket name has no '..'" : null;
    }

    private static bool KeyOrPrefixOk(string key, out string problem)
    {
        problem = "";
        if (key.Length == 0)
        {
            return true;
        }

        var trimmed = key.EndsWith('/') ? key[..^1] : key;
        if (BlobKeys.Problem(trimmed) is { } keyProblem)
        {
            problem = keyProblem;
            return false;
        }

        return true;
    }
}

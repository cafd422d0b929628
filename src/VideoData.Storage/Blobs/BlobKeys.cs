namespace VideoData.Storage.Blobs;

/// <summary>The rules every object key obeys, in every store.</summary>
public static class BlobKeys
{
    /// <summary>The longest key accepted, in UTF-8 bytes (S3's limit).</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>
    /// Returns why <paramref name="key"/> is not a safe object key, or <see langword="null"/> when it is.
    /// A key is non-empty, at most <see cref="MaxKeyBytes"/> UTF-8 bytes, relative (no leading <c>/</c>),
    /// uses <c>/</c> as separator (no <c>\</c>), has no empty, <c>.</c> or <c>..</c> segment and no control
    /// characters; so it can never leave the root of a local store.
    /// </summary>
    public static string? Problem(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            return "the key is empty";
        }

        if (System.Text.Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            return $"the key is longer than {MaxKeyBytes} UTF-8 bytes";
        }

        if (key[0] == '/')
        {
            return "the key is absolute (starts with '/')";
        }

        foreach (var c in key)
        {
            if (char.IsControl(c))
            {
                return $"the key contains the control character U+{(int)c:X4}";
            }

            if (c == '\\')
            {
                return "the key contains '\\'; use '/' as separator";
            }
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0)
            {
                return "the key has an empty path segment ('//' or a trailing '/')";
            }

            if (segment is "." or "..")
            {
                return $"the key has a '{segment}' path segment";
            }
        }

        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the key and the problem unless it is safe.</summary>
    public static void Validate(string key)
    {
        if (Problem(key) is { } problem)
        {
            throw new ArgumentException($"Invalid object key '{Printable(key)}': {problem}.", nameof(key));
        }
    }

    /// <summary>Validates a listing prefix: empty, or a key prefix whose complete segments are safe.</summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0)
        {
            return;
        }

        // A prefix may end in '/' (a folder) or in the middle of a segment; the rest must be a valid key.
        var trimmed = prefix.EndsWith('/') ? prefix[..^1] : prefix;
        if (trimmed.Length == 0 || Problem(trimmed) is not null)
        {
            throw new ArgumentException($"Invalid listing prefix '{Printable(prefix)}': {Problem(trimmed) ?? "it is only '/'"}.", nameof(prefix));
        }
    }

    internal static string Printable(string value)
    {
        var builder = new System.Text.StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString());
        }

        return builder.ToString();
    }
}

using VideoData.Storage.Blobs;

namespace VideoData.Storage.Manifests;

/// <summary>
/// The rule for video ids. An id is 1 to <c>maxLength</c> characters of <c>[A-Za-z0-9_.-]</c>, does not start
/// with '.' and has no "..": safe as a file name and an object key segment everywhere. YouTube ids (11
/// characters of <c>[A-Za-z0-9_-]</c>) always qualify.
/// </summary>
public static class VideoIds
{
    /// <summary>Returns why <paramref name="id"/> is not a safe video id, or null when it is.</summary>
    public static string? Problem(string? id, int maxLength = 128)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "the video id is empty";
        }

        foreach (var c in id)
        {
            if (char.IsControl(c))
            {
                return $"the video id contains the control character U+{(int)c:X4}";
            }

            if (c == '/' || c == '\\')
            {
                return $"the video id contains '{c}' (a path separator)";
            }

            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                return $"the video id contains '{c}' (allowed: A-Z, a-z, 0-9, '_', '-', '.')";
            }
        }

        if (id.Contains("..", StringComparison.Ordinal))
        {
            return "the video id contains '..'";
        }

        if (id[0] == '.')
        {
            return "the video id starts with '.'";
        }

        return id.Length > maxLength ? $"the video id is {id.Length} characters long (at most {maxLength})" : null;
    }

    /// <summary>Whether <paramref name="id"/> has the shape of a YouTube id (11 characters of <c>[A-Za-z0-9_-]</c>).</summary>
    public static bool IsYouTubeId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return id.Length == 11 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
    }

    internal static string Printable(string id) => BlobKeys.Printable(id);
}

/// <summary>Validation of the locations a manifest names.</summary>
internal static class ManifestUris
{
    /// <summary>
    /// Why a manifest location is unacceptable, or null. Accepted: <c>s3://bucket/key</c> and paths relative to
    /// the root that stay inside it. Rejected: absolute paths and <c>file://</c> URIs (a manifest is untrusted
    /// input and may not point anywhere on the machine), other schemes, unsafe keys.
    /// </summary>
    public static string? Problem(string uri, string? root)
    {
        if (uri.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || uri.StartsWith('/') || Path.IsPathRooted(uri))
        {
            return $"'{BlobKeys.Printable(uri)}' is an absolute path; manifests may only name s3:// URIs or paths relative to the root";
        }

        if (!BlobLocation.TryParse(uri, root, out var location, out var problem))
        {
            return $"'{BlobKeys.Printable(uri)}': {problem}";
        }

        return location.Key.Length == 0 || location.Key.EndsWith('/') ? $"'{BlobKeys.Printable(uri)}' names a folder, not an object" : null;
    }
}

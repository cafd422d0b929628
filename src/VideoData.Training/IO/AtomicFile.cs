namespace VideoData.Training.IO;

/// <summary>Writes a local file so that a reader sees the old file or the whole new one, never part of one (DESIGN §4).</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Creates the folder, lets <paramref name="write"/> fill a temporary file beside <paramref name="path"/>
    /// (a leading dot and a GUID in its name), flushes it to disk and renames it over <paramref name="path"/>.
    /// On failure the temporary file is removed and the original exception propagates.
    /// </summary>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The temp file is named with a GUID and a leading dot; a leftover is harmless and the original error matters more.
        }
    }
}

using VideoData.Core.IO;

namespace VideoData.Training.IO;

/// <summary>Writes a local file so that a reader sees the old file or the whole new one, never part of one (DESIGN §4).</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Creates the folder, lets <paramref name="write"/> fill a temporary file beside <paramref name="path"/>
    /// (a leading dot and a GUID in its name), flushes it to disk and renames it over <paramref name="path"/>;
    /// a <paramref name="path"/> that is a device, FIFO or link gets the bytes written in place instead.
    /// On failure the temporary file is removed and the original exception propagates.
    /// </summary>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        // A device, FIFO or link (--out /dev/null) is written in place, never renamed over: OutputFile keeps that.
        await OutputFile.WriteAsync(path, write, flushToDisk: true, cancellationToken).ConfigureAwait(false);
    }
}

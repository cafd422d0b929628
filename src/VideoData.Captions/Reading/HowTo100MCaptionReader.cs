using System.Buffers;
using System.Runtime.CompilerServices;

namespace VideoData.Captions.Reading;

/// <summary>
/// Streams a HowTo100M <c>raw_caption.json</c> (one JSON object of video id →
/// <c>{start[], end[], text[]}</c>, several GB for the full corpus) one video at a time. Memory is
/// one entry's bytes plus a read buffer, whatever the size of the file.
/// </summary>
/// <remarks>
/// A damaged entry is yielded with <see cref="HowTo100MEntry.Damage"/> set (naming the byte
/// offset) and reading continues with the next entry; see <see cref="DefaultMaxEntryBytes"/> for
/// the bound on damage that unbalances brackets. A stream that is not a JSON object at all throws
/// <see cref="InvalidDataException"/> naming the source. The stream is read sequentially and not
/// disposed.
/// </remarks>
public static class HowTo100MCaptionReader
{
    /// <summary>
    /// The largest entry accepted (16 MiB; a real entry is a few KB). A larger one is reported as
    /// damaged and reading resumes at the next <c>"id": {</c>.
    /// </summary>
    public const int DefaultMaxEntryBytes = 16 << 20;

    /// <summary>Reads the entries of <paramref name="stream"/>, blocking on its reads.</summary>
    /// <param name="stream">The corpus file, positioned at its start.</param>
    /// <param name="sourceName">Names the input in errors and damage reports.</param>
    /// <param name="cancellationToken">Stops the enumeration between entries.</param>
    public static IEnumerable<HowTo100MEntry> Read(Stream stream, string sourceName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var scanner = new JsonEntryScanner(stream, sourceName, DefaultMaxEntryBytes);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = scanner.TryScan(out var raw);
            if (step == JsonEntryScanner.Step.NeedMore)
            {
                scanner.Fill();
                continue;
            }

            if (step == JsonEntryScanner.Step.End)
            {
                yield break;
            }

            yield return ToEntry(scanner, raw);
        }
    }

    /// <summary>As <see cref="Read"/>, reading the stream asynchronously.</summary>
    public static async IAsyncEnumerable<HowTo100MEntry> ReadAsync(Stream stream, string sourceName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var scanner = new JsonEntryScanner(stream, sourceName, DefaultMaxEntryBytes);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = scanner.TryScan(out var raw);
            if (step == JsonEntryScanner.Step.NeedMore)
            {
                await scanner.FillAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (step == JsonEntryScanner.Step.End)
            {
                yield break;
            }

            yield return ToEntry(scanner, raw);
        }
    }

    /// <summary>
    /// The entries in file order with their value bytes copied out but not parsed, so callers can
    /// parse them on other threads with <see cref="Parse"/>. Each value array is rented from
    /// <see cref="ArrayPool{T}.Shared"/>: the caller returns it (see <see cref="UnparsedEntry.Release"/>) once done.
    /// </summary>
    internal static IEnumerable<UnparsedEntry> ReadUnparsed(Stream stream, string sourceName, CancellationToken cancellationToken = default)
    {
        var scanner = new JsonEntryScanner(stream, sourceName, DefaultMaxEntryBytes);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = scanner.TryScan(out var raw);
            if (step == JsonEntryScanner.Step.NeedMore)
            {
                scanner.Fill();
                continue;
            }

            if (step == JsonEntryScanner.Step.End)
            {
                yield break;
            }

            byte[] value = [];
            if (raw.Damage is null)
            {
                value = ArrayPool<byte>.Shared.Rent(raw.ValueLength);
                scanner.Value(raw).CopyTo(value);
            }

            yield return new UnparsedEntry(raw.VideoId, value, raw.ValueLength, raw.Offset, raw.Damage);
        }
    }

    /// <summary>Parses an entry read by <see cref="ReadUnparsed"/>.</summary>
    internal static HowTo100MEntry Parse(UnparsedEntry entry)
    {
        if (entry.Damage is not null)
        {
            return new HowTo100MEntry(entry.VideoId ?? $"(unreadable id at byte {entry.Offset})", [], 0, $"{entry.Damage} (entry at byte {entry.Offset})");
        }

        var cues = HowTo100MEntryParser.TryParse(entry.Value.AsSpan(0, entry.ValueLength), out var unpaired, out var damage);
        return cues is null
            ? new HowTo100MEntry(entry.VideoId!, [], 0, $"{damage} (entry at byte {entry.Offset})")
            : new HowTo100MEntry(entry.VideoId!, cues, unpaired, null);
    }

    /// <summary>The video ids in file order, one per entry (damaged ones included; null where the id itself was unreadable), without parsing values.</summary>
    internal static IEnumerable<string?> ReadIds(Stream stream, string sourceName, CancellationToken cancellationToken = default)
    {
        var scanner = new JsonEntryScanner(stream, sourceName, DefaultMaxEntryBytes);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = scanner.TryScan(out var raw);
            if (step == JsonEntryScanner.Step.NeedMore)
            {
                scanner.Fill();
                continue;
            }

            if (step == JsonEntryScanner.Step.End)
            {
                yield break;
            }

            yield return raw.VideoId;
        }
    }

    private static HowTo100MEntry ToEntry(JsonEntryScanner scanner, in JsonEntryScanner.RawEntry raw)
    {
        if (raw.Damage is not null)
        {
            return new HowTo100MEntry(raw.VideoId ?? $"(unreadable id at byte {raw.Offset})", [], 0, $"{raw.Damage} (entry at byte {raw.Offset})");
        }

        var cues = HowTo100MEntryParser.TryParse(scanner.Value(raw), out var unpaired, out var damage);
        return cues is null
            ? new HowTo100MEntry(raw.VideoId!, [], 0, $"{damage} (entry at byte {raw.Offset})")
            : new HowTo100MEntry(raw.VideoId!, cues, unpaired, null);
    }
}

/// <summary>An entry of a corpus file whose value has not been parsed yet (see <see cref="HowTo100MCaptionReader.ReadUnparsed"/>).</summary>
/// <param name="VideoId">The key, or null when damage left no readable id.</param>
/// <param name="Value">The value's JSON bytes in its first <paramref name="ValueLength"/> bytes (empty when damaged), rented from <see cref="ArrayPool{T}.Shared"/>.</param>
/// <param name="ValueLength">Length of the value.</param>
/// <param name="Offset">Byte offset of the entry in the file.</param>
/// <param name="Damage">Damage found while scanning, or null.</param>
internal sealed record UnparsedEntry(string? VideoId, byte[] Value, int ValueLength, long Offset, string? Damage)
{
    /// <summary>Returns <see cref="Value"/> to the pool; the entry must not be parsed afterwards.</summary>
    public void Release()
    {
        if (Value.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(Value);
        }
    }
}

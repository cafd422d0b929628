using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace VideoData.Captions.Reading;

/// <summary>
/// Splits a HowTo100M corpus object (<c>{"id": value, "id": value, …}</c>) into its entries
/// without parsing the values, holding one entry's bytes at a time.
/// </summary>
/// <remarks>
/// The scanner tracks strings and bracket depth only. Damage that leaves brackets balanced (a
/// wrong type, a bad number) is left to the entry parser. Damage that unbalances them is bounded by
/// a resynchronization rule that relies on the HowTo100M shape: inside an entry's value no key is
/// followed by an object, so <c>"key": {</c> seen inside a value is the next video's entry, and the
/// current one is reported as unterminated. An entry over the size limit (e.g. after an unpaired
/// quote) is reported and scanning resumes at the next <c>"key": {</c>. A file that ends inside an
/// entry reports that entry as truncated.
/// </remarks>
internal sealed class JsonEntryScanner
{
    private static readonly SearchValues<byte> s_structural = SearchValues.Create("\"{}[],"u8);
    private static readonly SearchValues<byte> s_stringEnd = SearchValues.Create("\"\\"u8);

    private readonly Stream _stream;
    private readonly string _sourceName;
    private readonly int _maxEntryBytes;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private long _bufferOffset;
    private bool _eof;
    private State _state;

    public JsonEntryScanner(Stream stream, string sourceName, int maxEntryBytes, int bufferSize = 1 << 16)
    {
        _stream = stream;
        _sourceName = sourceName;
        _maxEntryBytes = maxEntryBytes;
        _buffer = new byte[bufferSize];
    }

    private enum State
    {
        BeforeObject,
        InObject,
        Done,
    }

    /// <summary>The outcome of one scan step.</summary>
    public enum Step
    {
        Entry,
        NeedMore,
        End,
    }

    /// <summary>Bytes of the current entry's value, valid until the next call to <see cref="TryScan"/> or a fill.</summary>
    public ReadOnlySpan<byte> Value(in RawEntry entry) => _buffer.AsSpan(entry.ValueStart, entry.ValueLength);

    /// <summary>Reads more bytes; returns false at end of stream.</summary>
    public bool Fill()
    {
        PrepareFill();
        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        return Filled(read);
    }

    /// <summary>As <see cref="Fill"/>, asynchronously.</summary>
    public async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        PrepareFill();
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        return Filled(read);
    }

    /// <summary>Finds the next entry in the buffered bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Step TryScan(out RawEntry entry)
    {
        entry = default;
        var span = _buffer.AsSpan(0, _end);
        var pos = _start;
        if (_state == State.Done)
        {
            return Step.End;
        }

        if (_state == State.BeforeObject)
        {
            pos = SkipWhitespace(span, pos);
            if (pos < span.Length && span[pos] == 0xEF && pos + 3 > span.Length && !_eof)
            {
                return Step.NeedMore;
            }

            if (pos + 3 <= span.Length && span[pos] == 0xEF && span[pos + 1] == 0xBB && span[pos + 2] == 0xBF)
            {
                pos = SkipWhitespace(span, pos + 3);
            }

            if (pos >= span.Length)
            {
                return _eof ? throw NotACorpus("it is empty") : Step.NeedMore;
            }

            if (span[pos] != '{')
            {
                throw NotACorpus($"it does not start with '{{' (found '{(char)span[pos]}')");
            }

            _state = State.InObject;
            _start = pos + 1;
            pos = _start;
        }

        pos = SkipWhitespace(span, pos);
        while (pos < span.Length && span[pos] == ',')
        {
            pos = SkipWhitespace(span, pos + 1);
        }

        if (pos >= span.Length)
        {
            if (!_eof)
            {
                return Step.NeedMore;
            }

            _state = State.Done;
            entry = Damaged(pos, null, "the file ends before the closing '}' of the caption object (truncated?)", pos);
            return Step.Entry;
        }

        if (span[pos] == '}')
        {
            _state = State.Done;
            _start = pos + 1;
            return Step.End;
        }

        var entryStart = pos;
        if (span[pos] != '"')
        {
            return Resync(span, entryStart, entryStart, null, $"expected a video id string, found '{(char)span[pos]}'", out entry);
        }

        var keyEnd = FindStringEnd(span, pos + 1);
        if (keyEnd < 0)
        {
            return NeedMoreOrTruncated(entryStart, null, out entry);
        }

        var id = DecodeKey(span[pos..(keyEnd + 1)]);
        pos = SkipWhitespace(span, keyEnd + 1);
        if (pos >= span.Length)
        {
            return NeedMoreOrTruncated(entryStart, id, out entry);
        }

        if (span[pos] != ':')
        {
            return Resync(span, entryStart, keyEnd + 1, id, $"expected ':' after the video id, found '{(char)span[pos]}'", out entry);
        }

        pos = SkipWhitespace(span, pos + 1);
        var valueStart = pos;
        var depth = 0;
        while (true)
        {
            if (pos - entryStart > _maxEntryBytes)
            {
                return Resync(span, entryStart, valueStart, id, $"the entry is larger than {_maxEntryBytes} bytes (an unpaired quote or bracket?)", out entry);
            }

            var next = pos >= span.Length ? -1 : span[pos..].IndexOfAny(s_structural);
            if (next < 0)
            {
                return NeedMoreOrTruncated(entryStart, id, out entry);
            }

            pos += next;
            switch (span[pos])
            {
                case (byte)'"':
                    var stringEnd = FindStringEnd(span, pos + 1);
                    if (stringEnd < 0)
                    {
                        return NeedMoreOrTruncated(entryStart, id, out entry);
                    }

                    if (depth >= 1)
                    {
                        var match = MatchEntryStart(span, stringEnd + 1);
                        if (match == Match.Incomplete)
                        {
                            return NeedMoreOrTruncated(entryStart, id, out entry);
                        }

                        if (match == Match.Yes)
                        {
                            entry = new RawEntry(id, valueStart, TrimValueEnd(span, valueStart, pos) - valueStart, _bufferOffset + entryStart,
                                "the entry is not terminated (a missing ']' or '}')");
                            _start = pos;
                            return Step.Entry;
                        }
                    }

                    pos = stringEnd + 1;
                    if (depth == 0)
                    {
                        return Complete(id, entryStart, valueStart, pos, out entry);
                    }

                    continue;
                case (byte)'{':
                case (byte)'[':
                    depth++;
                    pos++;
                    continue;
                case (byte)'}':
                case (byte)']':
                    if (depth == 0)
                    {
                        // A scalar value ended by the corpus object's closing brace.
                        return Complete(id, entryStart, valueStart, TrimValueEnd(span, valueStart, pos), out entry);
                    }

                    depth--;
                    pos++;
                    if (depth == 0)
                    {
                        return Complete(id, entryStart, valueStart, pos, out entry);
                    }

                    continue;
                default: // ','
                    if (depth == 0)
                    {
                        return Complete(id, entryStart, valueStart, TrimValueEnd(span, valueStart, pos), out entry);
                    }

                    pos++;
                    continue;
            }
        }
    }

    private Step Complete(string id, int entryStart, int valueStart, int valueEnd, out RawEntry entry)
    {
        entry = new RawEntry(id, valueStart, valueEnd - valueStart, _bufferOffset + entryStart, null);
        _start = valueEnd;
        return Step.Entry;
    }

    private Step NeedMoreOrTruncated(int entryStart, string? id, out RawEntry entry)
    {
        entry = default;
        if (!_eof)
        {
            return Step.NeedMore;
        }

        _state = State.Done;
        entry = Damaged(entryStart, id, "the file ends inside this entry (truncated)", _end);
        return Step.Entry;
    }

    private Step Resync(ReadOnlySpan<byte> span, int entryStart, int from, string? id, string reason, out RawEntry entry)
    {
        for (var pos = from; pos < span.Length; pos++)
        {
            if (span[pos] != '"' || (pos > 0 && span[pos - 1] == '\\'))
            {
                continue;
            }

            var stringEnd = FindStringEnd(span, pos + 1);
            if (stringEnd < 0)
            {
                break;
            }

            var match = MatchEntryStart(span, stringEnd + 1);
            if (match == Match.Incomplete)
            {
                break;
            }

            if (match == Match.Yes)
            {
                entry = Damaged(entryStart, id, reason, pos);
                return Step.Entry;
            }
        }

        if (!_eof && span.Length - entryStart <= _maxEntryBytes * 2)
        {
            entry = default;
            return Step.NeedMore;
        }

        // Nothing left to resynchronize on: report the entry and stop.
        _state = State.Done;
        entry = Damaged(entryStart, id, reason + "; no later entry could be found, so the rest of the file was not read", span.Length);
        return Step.Entry;
    }

    private RawEntry Damaged(int entryStart, string? id, string reason, int resumeAt)
    {
        _start = resumeAt;
        return new RawEntry(id, entryStart, 0, _bufferOffset + entryStart, reason);
    }



    private enum Match
    {
        No,
        Yes,
        Incomplete,
    }

    // After a string: whitespace, ':', whitespace, '{' means the string was a corpus key.
    private static Match MatchEntryStart(ReadOnlySpan<byte> span, int pos)
    {
        pos = SkipWhitespace(span, pos);
        if (pos >= span.Length)
        {
            return Match.Incomplete;
        }

        if (span[pos] != ':')
        {
            return Match.No;
        }

        pos = SkipWhitespace(span, pos + 1);
        return pos >= span.Length ? Match.Incomplete : span[pos] == '{' ? Match.Yes : Match.No;
    }

    /// <summary>Index of the closing quote of a string whose content starts at <paramref name="pos"/>, or -1 if not in the buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int FindStringEnd(ReadOnlySpan<byte> span, int pos)
    {
        while (pos < span.Length)
        {
            var next = span[pos..].IndexOfAny(s_stringEnd);
            if (next < 0)
            {
                return -1;
            }

            pos += next;
            if (span[pos] == '"')
            {
                return pos;
            }

            pos += 2;
        }

        return -1;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> span, int pos)
    {
        while (pos < span.Length && span[pos] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            pos++;
        }

        return pos;
    }

    private static int TrimValueEnd(ReadOnlySpan<byte> span, int valueStart, int end)
    {
        while (end > valueStart && span[end - 1] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or (byte)',')
        {
            end--;
        }

        return end;
    }

    private static string DecodeKey(ReadOnlySpan<byte> quoted)
    {
        var content = quoted[1..^1];
        if (content.IndexOf((byte)'\\') < 0)
        {
            return Encoding.UTF8.GetString(content);
        }

        try
        {
            var reader = new Utf8JsonReader(quoted);
            reader.Read();
            return reader.GetString() ?? string.Empty;
        }
        catch (JsonException)
        {
            // An invalid escape: keep the raw text so the damage report can still name the entry.
            return Encoding.UTF8.GetString(content);
        }
        catch (InvalidOperationException)
        {
            return Encoding.UTF8.GetString(content);
        }
    }

    private InvalidDataException NotACorpus(string reason) =>
        new($"'{_sourceName}' is not a HowTo100M caption file: {reason}.");

    private void PrepareFill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
    }

    private bool Filled(int read)
    {
        _end += read;
        _eof = read == 0;
        return !_eof;
    }

    /// <summary>One entry found by the scanner: the key, where its value's bytes lie, and damage found while scanning.</summary>
    /// <remarks><see cref="VideoId"/> is null when the damage left no readable id.</remarks>
    internal readonly record struct RawEntry(string? VideoId, int ValueStart, int ValueLength, long Offset, string? Damage);
}

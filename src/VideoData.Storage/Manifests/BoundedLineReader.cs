using System.Text;

namespace VideoData.Storage.Manifests;

/// <summary>One line of a <see cref="BoundedLineReader"/>: its text, or <see cref="TooLong"/> with no text kept.</summary>
internal readonly record struct BoundedLine(string Text, bool TooLong);

/// <summary>
/// Reads LF- or CRLF-terminated lines (JSON Lines) holding at most <c>maxLength</c> characters of a line in memory: a
/// longer line is skipped to its end and returned as <see cref="BoundedLine.TooLong"/>, so one huge line costs a
/// bounded buffer, never the whole line. (<see cref="TextReader.ReadLineAsync()"/> builds the whole line first.)
/// </summary>
internal sealed class BoundedLineReader(TextReader reader, int maxLength)
{
    private readonly char[] _buffer = new char[1 << 14];
    private readonly StringBuilder _line = new();
    private int _length;
    private int _next;

    /// <summary>The next line without its terminator, or null at the end of the input.</summary>
    public async ValueTask<BoundedLine?> ReadLineAsync(CancellationToken cancellationToken)
    {
        _line.Clear();
        var tooLong = false;
        var any = false;
        while (true)
        {
            if (_next == _length)
            {
                _length = await reader.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                _next = 0;
                if (_length == 0)
                {
                    return any ? Finish(tooLong) : null;
                }
            }

            any = true;
            var span = _buffer.AsSpan(_next, _length - _next);
            var end = span.IndexOf('\n');
            var piece = end < 0 ? span : span[..end];
            _next += end < 0 ? span.Length : end + 1;
            if (!tooLong)
            {
                // One more character is allowed for the CR of a CRLF line end.
                if (_line.Length + piece.Length > maxLength + 1)
                {
                    tooLong = true;
                    _line.Clear();
                }
                else
                {
                    _line.Append(piece);
                }
            }

            if (end >= 0)
            {
                return Finish(tooLong);
            }
        }
    }

    private BoundedLine Finish(bool tooLong)
    {
        if (!tooLong && _line.Length > 0 && _line[^1] == '\r')
        {
            _line.Length--;
        }

        return !tooLong && _line.Length > maxLength ? new BoundedLine(string.Empty, true) : new BoundedLine(tooLong ? string.Empty : _line.ToString(), tooLong);
    }
}

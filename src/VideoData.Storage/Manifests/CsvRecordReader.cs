using System.Text;

namespace VideoData.Storage.Manifests;

/// <summary>Reads RFC 4180 records: comma-separated, fields optionally in double quotes ("" for a quote), CRLF or LF line ends.</summary>
internal sealed class CsvRecordReader(TextReader reader)
{
    private readonly char[] _buffer = new char[1 << 16];
    private int _length;
    private int _next;

    /// <summary>The next record's fields, or null at the end of the input. A quoted field may span lines.</summary>
    public async ValueTask<List<string>?> ReadRecordAsync(CancellationToken cancellationToken)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var afterQuote = false;
        var any = false;
        while (true)
        {
            if (_next == _length)
            {
                _length = await reader.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                _next = 0;
                if (_length == 0)
                {
                    if (quoted)
                    {
                        throw new FormatException("The CSV ends inside a quoted field.");
                    }

                    if (!any)
                    {
                        return null;
                    }

                    fields.Add(field.ToString());
                    return fields;
                }
            }

            var c = _buffer[_next++];
            any = true;
            if (quoted)
            {
                if (c == '"')
                {
                    quoted = false;
                    afterQuote = true;
                }
                else
                {
                    field.Append(c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when afterQuote:
                    // "" inside a quoted field: a literal quote, and the field goes on quoted.
                    field.Append('"');
                    quoted = true;
                    afterQuote = false;
                    break;
                case '"' when field.Length == 0:
                    quoted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    afterQuote = false;
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    return fields;
                default:
                    field.Append(c);
                    afterQuote = false;
                    break;
            }
        }
    }
}

namespace VideoData.Captions.Reading;

/// <summary>Splits text into lines on CRLF, CR or LF, dropping a leading byte-order mark.</summary>
internal static class TextLines
{
    public static List<string> Split(string content)
    {
        var span = content.AsSpan();
        if (span.Length > 0 && span[0] == '\uFEFF')
        {
            span = span[1..];
        }

        var lines = new List<string>();
        var start = 0;
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] is '\r' or '\n')
            {
                lines.Add(span[start..i].ToString());
                if (span[i] == '\r' && i + 1 < span.Length && span[i + 1] == '\n')
                {
                    i++;
                }

                start = i + 1;
            }
        }

        if (start < span.Length)
        {
            lines.Add(span[start..].ToString());
        }

        return lines;
    }
}

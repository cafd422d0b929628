using System.Globalization;

namespace VideoData.Captions.Reading;

/// <summary>Parses WebVTT/SRT timestamps and timing lines.</summary>
internal static class CueTime
{
    /// <summary>
    /// Parses <c>[hh:]mm:ss(.|,)fff</c> (hours of any width, 1–3 fraction digits, the fraction
    /// optional) into seconds. Returns false for anything else.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out double seconds)
    {
        seconds = 0;
        text = text.Trim();
        Span<long> parts = stackalloc long[3];
        var count = 0;
        var index = 0;
        while (true)
        {
            var start = index;
            while (index < text.Length && char.IsAsciiDigit(text[index]))
            {
                index++;
            }

            if (index == start || count == 3 || !long.TryParse(text[start..index], NumberStyles.None, CultureInfo.InvariantCulture, out parts[count]))
            {
                return false;
            }

            count++;
            if (index < text.Length && text[index] == ':')
            {
                index++;
                continue;
            }

            break;
        }

        double fraction = 0;
        if (index < text.Length && text[index] is '.' or ',')
        {
            var start = ++index;
            while (index < text.Length && char.IsAsciiDigit(text[index]))
            {
                index++;
            }

            var digits = index - start;
            if (digits is 0 or > 9)
            {
                return false;
            }

            fraction = long.Parse(text[start..index], NumberStyles.None, CultureInfo.InvariantCulture) / Math.Pow(10, digits);
        }

        if (index != text.Length || count < 2)
        {
            return false;
        }

        long hours = count == 3 ? parts[0] : 0;
        var minutes = parts[count - 2];
        var wholeSeconds = parts[count - 1];
        if (minutes >= 60 && count == 3 || wholeSeconds >= 60)
        {
            return false;
        }

        seconds = (hours * 3600) + (minutes * 60) + wholeSeconds + fraction;
        return true;
    }

    /// <summary>Parses <c>start --&gt; end [settings]</c>; false when the line is not a timing line.</summary>
    public static bool TryParseTiming(ReadOnlySpan<char> line, out double start, out double end)
    {
        start = end = 0;
        var arrow = line.IndexOf("-->", StringComparison.Ordinal);
        if (arrow < 0)
        {
            return false;
        }

        var right = line[(arrow + 3)..].TrimStart();
        var space = right.IndexOfAny(' ', '\t');
        if (space >= 0)
        {
            right = right[..space];
        }

        return TryParse(line[..arrow], out start) && TryParse(right, out end);
    }
}

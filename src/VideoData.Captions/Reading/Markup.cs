using System.Text;

namespace VideoData.Captions.Reading;

/// <summary>Removes WebVTT/SRT markup from cue text, leaving entities for the normalizer.</summary>
internal static class Markup
{
    /// <summary>
    /// Drops <c>&lt;…&gt;</c> tags (<c>&lt;c&gt;</c>, <c>&lt;i&gt;</c>, <c>&lt;v Name&gt;</c>, inline
    /// timestamps <c>&lt;00:00:01.230&gt;</c>) and SSA override blocks <c>{\…}</c>; a <c>&lt;</c>
    /// without a closing <c>&gt;</c> is kept as text.
    /// </summary>
    public static string StripTags(string line)
    {
        if (line.AsSpan().IndexOfAny('<', '{') < 0)
        {
            return line;
        }

        var builder = new StringBuilder(line.Length);
        var index = 0;
        while (index < line.Length)
        {
            var c = line[index];
            if (c == '<' || (c == '{' && index + 1 < line.Length && line[index + 1] == '\\'))
            {
                var close = line.IndexOf(c == '<' ? '>' : '}', index + 1);
                if (close > index)
                {
                    index = close + 1;
                    continue;
                }
            }

            builder.Append(c);
            index++;
        }

        return builder.ToString();
    }
}

using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace VideoData.Captions.Cleaning;

/// <summary>Text normalization of one cue (see <see cref="CaptionCleanerOptions"/>).</summary>
internal static partial class TextNormalizer
{
    /// <summary>The reference's handling: newlines become spaces, the ends are trimmed.</summary>
    public static string Reference(string text) => text.Replace('\n', ' ').Trim();

    /// <summary>Entities decoded, NFC, whitespace runs collapsed to one space, ends trimmed.</summary>
    public static string Normalize(string text)
    {
        if (text.Contains('&', StringComparison.Ordinal))
        {
            text = WebUtility.HtmlDecode(text);
        }

        if (!Ascii.IsValid(text) && !text.IsNormalized(NormalizationForm.FormC))
        {
            text = text.Normalize(NormalizationForm.FormC);
        }

        return CollapseWhitespace(text);
    }

    /// <summary>Removes bracketed non-speech tags (<c>[Music]</c>, <c>[ __ ]</c>) and <c>&gt;&gt;</c>, then collapses whitespace.</summary>
    public static string RemoveMarkers(string text)
    {
        if (text.AsSpan().IndexOfAny('[', '>') < 0)
        {
            return text;
        }

        return CollapseWhitespace(Markers().Replace(text, " "));
    }

    private static string CollapseWhitespace(string text)
    {
        var needsWork = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c) && (c != ' ' || i == 0 || i == text.Length - 1 || text[i + 1] == ' ' || char.IsWhiteSpace(text[i + 1])))
            {
                needsWork = true;
                break;
            }
        }

        if (!needsWork)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    [GeneratedRegex(@"\[[^\[\]\r\n]{0,40}\]|>>+", RegexOptions.CultureInvariant)]
    private static partial Regex Markers();
}

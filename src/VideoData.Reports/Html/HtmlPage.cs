using System.Globalization;
using System.Net;
using System.Text;

namespace VideoData.Reports.Html;

/// <summary>
/// A self-contained HTML report: inline CSS, plots as inline SVG, no scripts, no links to anything outside the file,
/// so it opens the same from a laptop, a cluster's shared disk or an e-mail attachment with no network.
/// Every plot is a <c>&lt;figure class="plot" id="…"&gt;</c> holding one <c>&lt;svg&gt;</c> and a caption.
/// </summary>
internal sealed class HtmlPage
{
    private const string Style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
        figure.plot { display: inline-block; margin: .5em; vertical-align: top; }
        figure.plot figcaption { font-size: .85em; color: #555; max-width: 560px; }
        table { border-collapse: collapse; font-size: .9em; } td, th { border: 1px solid #ddd; padding: .25em .6em; text-align: left; }
        .verdict { padding: .6em 1em; border-left: 4px solid #2a7; background: #f3fbf6; }
        .verdict.warn { border-color: #d80; background: #fff8ec; } .verdict.bad { border-color: #c33; background: #fdf1f1; }
        .grid rect { stroke: #fff; stroke-width: 1; }
        .muted { color: #777; }
        """;

    private readonly StringBuilder _body = new();
    private readonly string _title;

    public HtmlPage(string title) => _title = title;

    public static string Escape(string text) => WebUtility.HtmlEncode(text);

    public HtmlPage Heading(string text, int level = 2)
    {
        _body.Append(CultureInfo.InvariantCulture, $"<h{level}>{Escape(text)}</h{level}>\n");
        return this;
    }

    public HtmlPage Paragraph(string text, string? cssClass = null)
    {
        _body.Append(cssClass is null ? "<p>" : $"<p class=\"{cssClass}\">").Append(Escape(text)).Append("</p>\n");
        return this;
    }

    /// <summary>A plot: <paramref name="svg"/> is a complete SVG document (its XML declaration is dropped).</summary>
    public HtmlPage Figure(string id, string svg, string caption)
    {
        var start = svg.IndexOf("<svg", StringComparison.Ordinal);
        _body.Append(CultureInfo.InvariantCulture, $"<figure class=\"plot\" id=\"{id}\">\n")
            .Append(start >= 0 ? svg[start..] : svg)
            .Append(CultureInfo.InvariantCulture, $"\n<figcaption>{Escape(caption)}</figcaption>\n</figure>\n");
        return this;
    }

    public HtmlPage Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, string? id = null)
    {
        _body.Append(id is null ? "<table>" : $"<table id=\"{id}\">").Append("<tr>");
        foreach (var h in header)
        {
            _body.Append("<th>").Append(Escape(h)).Append("</th>");
        }

        _body.Append("</tr>\n");
        foreach (var row in rows)
        {
            _body.Append("<tr>");
            foreach (var cell in row)
            {
                _body.Append("<td>").Append(Escape(cell)).Append("</td>");
            }

            _body.Append("</tr>\n");
        }

        _body.Append("</table>\n");
        return this;
    }

    /// <summary>Markup made by this project's own code (never user text without <see cref="Escape"/>).</summary>
    public HtmlPage Raw(string html)
    {
        _body.Append(html).Append('\n');
        return this;
    }

    public override string ToString() =>
        $"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{Escape(_title)}</title>\n<style>\n{Style}\n</style>\n</head>\n<body>\n<h1>{Escape(_title)}</h1>\n{_body}</body>\n</html>\n";

    /// <summary>Writes the page atomically (<see cref="VideoData.Core.IO.OutputFile"/>: a temporary file beside it, then a rename).</summary>
    public async Task WriteAsync(string path, CancellationToken cancellationToken)
    {
        var bytes = new UTF8Encoding(false).GetBytes(ToString());
        await VideoData.Core.IO.OutputFile.WriteAsync(path, (stream, ct) => stream.WriteAsync(bytes, ct).AsTask(), flushToDisk: false, cancellationToken).ConfigureAwait(false);
    }
}

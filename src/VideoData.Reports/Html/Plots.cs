using ScottPlot;

namespace VideoData.Reports.Html;

/// <summary>
/// The few plot shapes the reports draw, rendered by ScottPlot 5 to SVG strings. Sizes are fixed so pages line up;
/// every plot has a title and axis labels, and an empty input gives a plot that says "no data" instead of failing.
/// </summary>
internal static class Plots
{
    public const int Width = 540;
    public const int Height = 330;

    /// <summary>Lines (optionally with markers), one per series.</summary>
    public static string Lines(string title, string xLabel, string yLabel, IEnumerable<(string Name, double[] X, double[] Y)> series, bool markers = false, bool logY = false)
    {
        var plot = New(title, xLabel, yLabel);
        var any = false;
        var count = 0;
        foreach (var (name, x, y) in series)
        {
            if (x.Length == 0)
            {
                continue;
            }

            var ys = logY ? y.Select(v => v > 0 ? Math.Log10(v) : double.NaN).ToArray() : y;
            var scatter = plot.Add.Scatter(x, ys);
            scatter.LegendText = name;
            scatter.MarkerSize = markers ? 5 : 0;
            scatter.LineWidth = x.Length > 1 ? 1.5f : 0;
            any = true;
            count++;
        }

        if (count > 1)
        {
            plot.ShowLegend();
        }

        return Render(plot, any);
    }

    /// <summary>A histogram of <paramref name="values"/> in <paramref name="bins"/> equal bins.</summary>
    public static string Histogram(string title, string xLabel, IReadOnlyCollection<double> values, int bins = 30)
    {
        var plot = New(title, xLabel, "count");
        var finite = values.Where(double.IsFinite).ToArray();
        if (finite.Length == 0)
        {
            return Render(plot, false);
        }

        var min = finite.Min();
        var max = finite.Max();
        if (max - min < 1e-12)
        {
            // One value: a single bar of a visible width around it.
            var half = Math.Max(Math.Abs(min) * 0.01, 1e-3);
            min -= half;
            max += half;
        }

        var width = (max - min) / bins;
        var counts = new double[bins];
        foreach (var v in finite)
        {
            counts[Math.Min(bins - 1, (int)((v - min) / width))]++;
        }

        var positions = Enumerable.Range(0, bins).Select(i => min + ((i + 0.5) * width)).ToArray();
        var barPlot = plot.Add.Bars(positions, counts);
        foreach (var bar in barPlot.Bars)
        {
            bar.Size = width * 0.95;
        }

        plot.Axes.Margins(bottom: 0);
        return Render(plot, true);
    }

    /// <summary>Labelled bars.</summary>
    public static string Bars(string title, string yLabel, IReadOnlyList<string> labels, IReadOnlyList<double> values)
    {
        var plot = New(title, string.Empty, yLabel);
        if (labels.Count == 0)
        {
            return Render(plot, false);
        }

        var positions = Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray();
        plot.Add.Bars(positions, values.ToArray());
        plot.Axes.Bottom.SetTicks(positions, labels.ToArray());
        plot.Axes.Margins(bottom: 0);
        return Render(plot, true);
    }

    /// <summary>Pairs of bars per group (e.g. clustered vs shuffled per epoch).</summary>
    public static string GroupedBars(string title, string yLabel, IReadOnlyList<string> groups, IReadOnlyList<(string Name, double[] Values)> series)
    {
        var plot = New(title, string.Empty, yLabel);
        if (groups.Count == 0)
        {
            return Render(plot, false);
        }

        var width = 0.8 / series.Count;
        for (var s = 0; s < series.Count; s++)
        {
            var positions = Enumerable.Range(0, groups.Count).Select(g => g - 0.4 + ((s + 0.5) * width)).ToArray();
            var bars = plot.Add.Bars(positions, series[s].Values);
            bars.LegendText = series[s].Name;
            foreach (var bar in bars.Bars)
            {
                bar.Size = width * 0.9;
            }
        }

        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, groups.Count).Select(g => (double)g).ToArray(), groups.ToArray());
        plot.ShowLegend();
        return Render(plot, true);
    }

    private static Plot New(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot;
    }

    private static string Render(Plot plot, bool hasData)
    {
        if (!hasData)
        {
            var text = plot.Add.Text("no data", 0, 0);
            text.LabelFontSize = 18;
        }

        return plot.GetSvgXml(Width, Height);
    }
}

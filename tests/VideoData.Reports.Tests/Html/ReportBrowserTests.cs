using System.Text.RegularExpressions;
using VideoData.Reports.Tests.Training;
using VideoData.Testing;
using Xunit.Abstractions;

namespace VideoData.Reports.Tests.Html;

/// <summary>
/// The demo's report and a training report loaded by a real browser (headless Chromium) from disk: every expected plot is
/// there as inline SVG, nothing is fetched from elsewhere, no console message; screenshots are kept under artifacts/reports/.
/// </summary>
public sealed partial class ReportBrowserTests(ReportOutputsFixture outputs, ITestOutputHelper output) : IClassFixture<ReportOutputsFixture>
{
    private static readonly string Artifacts = Path.Combine(RepoPaths.Root, "artifacts", "reports");

    private static readonly string[] CorpusPlots =
    [
        "shard-grid", "plot-throughput", "plot-seconds-per-video", "plot-failures", "plot-durations", "plot-caption-coverage",
        "plot-segments-per-minute", "plot-feature-norms", "plot-feature-cosine",
    ];

    private static readonly string[] TrainingPlots = ["plot-loss", "plot-learning-rate", "plot-step-time", "plot-data-wait", "plot-recall", "plot-batch-similarity"];

    [Fact]
    public async Task DemoReport_InChromium_HasEveryPlotAsInlineSvg_NoConsoleMessages_AndSaysTheWeightsAreRandom()
    {
        Assert.True(outputs.Demo.ExitCode == 0, outputs.Demo.Stdout + outputs.Demo.Stderr);
        var report = Path.Combine(outputs.DemoFolder, "report.html");
        Assert.Contains($"report written to {report}", outputs.Demo.Stdout, StringComparison.Ordinal);

        var page = await LoadAsync(report, "demo-report.png");

        AssertPlots(page.Dom, CorpusPlots);
        // Four deliberately broken videos fail; the grid has a square per shard and the lineage names the encoder.
        Assert.Matches("<rect[^>]*data-state=\"done\"", page.Dom);
        Assert.Contains("s3d-g", page.Dom, StringComparison.Ordinal);
        Assert.DoesNotContain("\"demo000\":", page.Dom, StringComparison.Ordinal);
        Assert.Contains("RANDOM weights", page.Dom, StringComparison.Ordinal);
        Assert.Contains("broken_", page.Dom, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrainingReport_InChromium_HasEveryPlot_AndTheClusteredBatchesAreMoreAlikeThanShuffledOnes()
    {
        Assert.True(outputs.Train.ExitCode == 0, outputs.Train.Stdout + outputs.Train.Stderr);
        Assert.True(outputs.Report.ExitCode == 0, outputs.Report.Stdout + outputs.Report.Stderr);
        Assert.Contains("3 clustered", outputs.Report.Stdout, StringComparison.Ordinal);

        var page = await LoadAsync(outputs.TrainReport, "training-report.png");

        AssertPlots(page.Dom, TrainingPlots);
        var table = Regex.Match(page.Dom, "<table id=\"batch-similarity\">(.*?)</table>", RegexOptions.Singleline).Groups[1].Value;
        var rows = Regex.Matches(table, "<tr><td>(\\d+)</td><td>(-?[0-9.]+)</td><td>(-?[0-9.]+)</td>")
            .Select(m => (Clustered: double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), Shuffled: double.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.True(r.Clustered > r.Shuffled, $"clustered in-batch similarity {r.Clustered} should exceed shuffled {r.Shuffled}"));
    }

    [Fact]
    public void TensorBoard_EventFile_HasValidRecordsAndOneLossPerStep()
    {
        Assert.True(outputs.Train.ExitCode == 0, outputs.Train.Stdout + outputs.Train.Stderr);
        var file = Assert.Single(Directory.GetFiles(outputs.TensorBoardFolder, "events.out.tfevents.*", SearchOption.AllDirectories));

        var (version, scalars) = TfEventReader.Read(file);

        Assert.StartsWith("brain.Event:", version, StringComparison.Ordinal);
        var log = File.ReadAllLines(Path.Combine(outputs.TrainFolder, "train-log.jsonl")).Where(l => l.Contains("\"kind\":\"step\"", StringComparison.Ordinal)).ToList();
        var losses = scalars.Where(s => s.Tag == "train/loss").ToList();
        Assert.Equal(log.Count, losses.Count);
        Assert.Equal(Enumerable.Range(0, log.Count).Select(i => (long)i), losses.Select(s => s.Step));
        var firstLoss = System.Text.Json.JsonDocument.Parse(log[0]).RootElement.GetProperty("loss").GetSingle();
        Assert.Equal(firstLoss, losses[0].Value);
        Assert.Equal(3, scalars.Count(s => s.Tag == "eval/recall_at_1"));
        Assert.Contains(scalars, s => s.Tag == "train/learning_rate" && s.Value > 0);
    }

    [Fact]
    public async Task Chromium_PageWithAConsoleError_IsCaught()
    {
        // The console check must be able to fail: a page that logs an error is seen.
        var page = Path.Combine(outputs.Root, "console-error.html");
        await File.WriteAllTextAsync(page, "<!DOCTYPE html><html><body><p>x</p><script>console.error('report-test-error')</script></body></html>");

        var load = await HeadlessChromium.LoadAsync(page, Path.Combine(outputs.Root, "console-error.png"), Path.Combine(outputs.Root, "chromium-profile"));

        Assert.Contains(load.ConsoleMessages, m => m.Contains("report-test-error", StringComparison.Ordinal));
    }

    [Fact]
    public void TfEventReader_Crc32C_MatchesTheStandardCheckValue() =>
        Assert.Equal(0xE3069283u, TfEventReader.Crc32C("123456789"u8));

    private async Task<HeadlessChromium.PageLoad> LoadAsync(string html, string screenshot)
    {
        Directory.CreateDirectory(Artifacts);
        var shot = Path.Combine(Artifacts, screenshot);
        File.Delete(shot);
        var page = await HeadlessChromium.LoadAsync(html, shot, Path.Combine(outputs.Root, "chromium-profile"));
        output.WriteLine($"{html}: {new FileInfo(html).Length} bytes; screenshot {shot} ({new FileInfo(shot).Length} bytes)");

        Assert.True(new FileInfo(shot).Length > 10_000, $"the screenshot {shot} is missing or blank");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(shot)[..4]);
        Assert.Empty(page.ConsoleMessages);
        // Self-contained: nothing to fetch, nothing to run.
        var source = await File.ReadAllTextAsync(html);
        Assert.DoesNotMatch("<script|<link|src=\"http|href=\"http|@import", source);
        return page;
    }

    private static void AssertPlots(string dom, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            var figure = Regex.Match(dom, $"<figure class=\"plot\" id=\"{id}\">(.*?)</figure>", RegexOptions.Singleline);
            Assert.True(figure.Success, $"the page has no figure '{id}'");
            Assert.Matches("(?s)<svg[^>]*>.*<(path|rect)", figure.Groups[1].Value);
        }
    }
}

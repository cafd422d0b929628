using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VideoData.Reports.Tests.Html;

/// <summary>
/// Debian's <c>chromium</c> (installed by <c>infra/scripts/setup.sh --tests</c>) run headless on a local file: the DOM
/// after load (<c>--dump-dom</c>), a screenshot, and every console message the page produced (Chromium logs them to
/// stderr as <c>INFO:CONSOLE</c> lines with <c>--enable-logging=stderr</c>).
/// </summary>
internal static partial class HeadlessChromium
{
    /// <summary>What loading one page gave.</summary>
    public sealed record PageLoad(string Dom, IReadOnlyList<string> ConsoleMessages, string Screenshot);

    public static string Executable =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("Chromium is not installed (/usr/bin/chromium): run infra/scripts/setup.sh --tests, which installs Debian's chromium.");

    /// <summary>Loads <paramref name="htmlPath"/> twice (DOM, then screenshot into <paramref name="screenshotPath"/>) and collects console messages from both.</summary>
    public static async Task<PageLoad> LoadAsync(string htmlPath, string screenshotPath, string profileDirectory)
    {
        var url = new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri;
        var (dom, domLog) = await RunAsync(profileDirectory, "--dump-dom", url);
        var (_, shotLog) = await RunAsync(profileDirectory, $"--screenshot={Path.GetFullPath(screenshotPath)}", "--window-size=1200,5200", "--hide-scrollbars", url);
        var console = ConsoleLine().Matches(domLog + "\n" + shotLog).Select(m => m.Value).ToList();
        return new PageLoad(dom, console, screenshotPath);
    }

    private static async Task<(string Stdout, string Stderr)> RunAsync(string profileDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--no-first-run", $"--user-data-dir={profileDirectory}" }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium {string.Join(' ', arguments)} did not finish within 3 minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"chromium {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}");
        }

        return (await stdout, await stderr);
    }

    [GeneratedRegex(@"^.*:CONSOLE[:(].*$", RegexOptions.Multiline)]
    private static partial Regex ConsoleLine();
}

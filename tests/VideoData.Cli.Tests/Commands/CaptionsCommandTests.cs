using System.Text.Json;

namespace VideoData.Cli.Tests.Commands;

/// <summary><c>videodata captions show|import</c>, run as the real program.</summary>
public sealed class CaptionsCommandTests : IDisposable
{
    private const string Vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nI like<00:00:01.000><c> strawberries</c>\n\n00:00:02.000 --> 00:00:02.010\nI like strawberries\n";
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-cli-captions-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Show_Vtt_PrintsCleanedSegmentsWithTokens()
    {
        var path = Path.Combine(_folder, "clip.srt"); // wrong extension: the content decides
        await File.WriteAllTextAsync(path, Vtt);

        var result = await CliRunner.RunAsync(null, "captions", "show", path, "--tokens");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var segment = JsonDocument.Parse(line);
        Assert.Equal("I like strawberries", segment.RootElement.GetProperty("text").GetString());
        Assert.Equal(2.0, segment.RootElement.GetProperty("end").GetDouble());
        Assert.Equal([1045, 2066, 13137, 20968], segment.RootElement.GetProperty("tokens").EnumerateArray().Select(id => id.GetInt32()));
    }

    [Fact]
    public async Task Show_DedupWordsAndCueCap_CutNoWordAndTruncate()
    {
        var path = Path.Combine(_folder, "pinch.srt");
        await File.WriteAllTextAsync(path, "1\n00:00:00,000 --> 00:00:02,000\nadd a pinch of salt\n\n2\n00:00:01,000 --> 00:00:03,000\nthen heat the pan\n");

        var reference = await CliRunner.RunAsync(null, "captions", "show", path);
        var words = await CliRunner.RunAsync(null, "captions", "show", path, "--dedup", "words");
        var capped = await CliRunner.RunAsync(null, "captions", "show", path, "--dedup", "none", "--max-cue-chars", "9");
        var unknown = await CliRunner.RunAsync(null, "captions", "show", path, "--dedup", "word");

        Assert.True(reference.ExitCode == 0, reference.Stderr);
        var referenceTexts = Texts(reference.Stdout);
        Assert.True(
            referenceTexts.SequenceEqual(["add a pinch of salt", "hen heat the pan"]) || referenceTexts.SequenceEqual(["add a pinch of sal", "then heat the pan"]),
            string.Join(" | ", referenceTexts));
        Assert.True(words.ExitCode == 0, words.Stderr);
        Assert.Equal(["add a pinch of salt", "then heat the pan"], Texts(words.Stdout));
        Assert.True(capped.ExitCode == 0, capped.Stderr);
        Assert.Equal(["add a pin", "then heat"], Texts(capped.Stdout));
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("word", unknown.Stderr, StringComparison.Ordinal);

        static string[] Texts(string stdout) => [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => { using var document = JsonDocument.Parse(line); return document.RootElement.GetProperty("text").GetString()!; })];
    }

    [Fact]
    public async Task Show_NotCaptions_OneLineErrorNamingInputAndClass()
    {
        var path = Path.Combine(_folder, "notes.txt");
        await File.WriteAllTextAsync(path, "shopping list\neggs\n");

        var result = await CliRunner.RunAsync(null, "captions", "show", path);

        Assert.Equal(1, result.ExitCode);
        var error = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(path, error, StringComparison.Ordinal);
        Assert.Contains("captions:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_CorpusWithADamagedEntry_WritesShardsAndSummary()
    {
        var input = Path.Combine(_folder, "raw_caption.json");
        await File.WriteAllTextAsync(input, "{\"a\": {\"start\": [0], \"end\": [1], \"text\": [\"hello\"]}, \"b\": {\"start\": [\"x\"], \"end\": [1], \"text\": [\"bad\"]}, \"c\": {\"start\": [0, 1], \"end\": [1, 2], \"text\": [\"one\", \"two\"]}}");
        var output = Path.Combine(_folder, "out");

        var result = await CliRunner.RunAsync(null, "captions", "import", input, "--out", output, "--shard-size", "2");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var summary = JsonDocument.Parse(result.Stdout);
        Assert.Equal(3, summary.RootElement.GetProperty("entries").GetInt32());
        Assert.Equal(2, summary.RootElement.GetProperty("videos").GetInt32());
        Assert.Equal(1, summary.RootElement.GetProperty("damaged_entries").GetInt32());
        Assert.Equal(3, summary.RootElement.GetProperty("segments").GetInt32());
        Assert.Equal(2, summary.RootElement.GetProperty("shards").GetInt32());
        Assert.True(File.Exists(Path.Combine(output, "shard-00000.parquet")));
        Assert.True(File.Exists(Path.Combine(output, "shard-00001.parquet")));
        Assert.Contains("'b'", result.Stderr, StringComparison.Ordinal);
    }
}

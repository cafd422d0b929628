using System.Text;
using System.Text.Json;
using VideoData.Pipeline.Ledger;
using VideoData.Testing;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>
/// HowTo100M's route for captions, end to end with the real program: <c>videodata captions import raw_caption.json</c>
/// makes caption tables, <c>videodata preprocess</c> with <c>captions.tables</c> joins them into the feature shards.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class CaptionTablesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-caption-tables-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Preprocess_WithImportedCaptionTables_EachShardRowCarriesItsVideosTableRow()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var rows = File.ReadAllLines(corpus.Manifest).Skip(1).Select(l => l.Split(',')).ToList();
        var good = rows.Select(r => r[0]).Where(id => !corpus.BrokenVideos.Contains(id)).Order(StringComparer.Ordinal).ToList();
        var uncaptioned = good[^1];

        // A manifest without caption files: the captions come only from the import.
        var manifest = Path.Combine(corpus.Folder, "manifest-no-captions.csv");
        await File.WriteAllTextAsync(manifest, "video_id,uri\n" + string.Concat(rows.Select(r => $"{r[0]},{r[1]}\n")));

        // raw_caption.json for every good video but one, plus videos the manifest does not have; rolling ASR-style
        // repeats exercise the reference dedup. Shard size 2 spreads the videos over several tables.
        var raw = new StringBuilder("{");
        var captioned = good.Where(id => id != uncaptioned).Concat(["not_in_manifest_1", "not_in_manifest_2", "not_in_manifest_3"]).ToList();
        for (var i = 0; i < captioned.Count; i++)
        {
            var words = $"step {i} take the pan";
            raw.Append(i > 0 ? "," : "").Append(JsonSerializer.Serialize(captioned[i])).Append(": ");
            raw.Append(JsonSerializer.Serialize(new
            {
                start = new[] { 0.0, 0.5, 1.2 },
                end = new[] { 0.9, 1.4, 2.0 },
                text = new[] { words, $"{words} and heat the oil", $"now add {i} onions" },
            }));
        }

        raw.Append('}');
        var rawPath = Path.Combine(_dir, "raw_caption.json");
        await File.WriteAllTextAsync(rawPath, raw.ToString());
        var tables = Path.Combine(_dir, "tables");
        var import = await VideoDataCli.RunAsync(null, ["captions", "import", rawPath, "--out", tables, "--shard-size", "2"]);
        Assert.True(import.ExitCode == 0, import.Stderr + import.Stdout);
        Assert.True(Directory.EnumerateFiles(tables, "shard-*.parquet").Count() > 1);

        var output = Path.Combine(_dir, "out");
        var run = await VideoDataCli.RunAsync(null, [.. Arguments(manifest, output), "--set", $"captions.tables={tables}"]);
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);

        var records = await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards"));
        Assert.Equal(good, records.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(records[uncaptioned].Captions);

        // What an independent reader finds in the tables is exactly what each shard row carries.
        var expected = await DuckDb.QueryJsonAsync(
            $"select video_id, to_json(segments)::VARCHAR as segments from read_parquet('{tables}/shard-*.parquet') order by video_id");
        var byId = expected[0].EnumerateArray().ToDictionary(r => r.GetProperty("video_id").GetString()!, r => r.GetProperty("segments").GetString()!);
        foreach (var id in good.Where(id => id != uncaptioned))
        {
            var segments = JsonDocument.Parse(byId[id]).RootElement.EnumerateArray().ToList();
            var got = records[id].Captions;
            Assert.Equal(segments.Count, got.Count);
            Assert.True(got.Count >= 1);
            for (var s = 0; s < got.Count; s++)
            {
                Assert.Equal(segments[s].GetProperty("start").GetDouble(), got[s].Start);
                Assert.Equal(segments[s].GetProperty("end").GetDouble(), got[s].End);
                Assert.Equal(segments[s].GetProperty("text").GetString(), got[s].Text);
                Assert.Equal(segments[s].GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32()), got[s].TokenIds);
                Assert.NotEmpty(got[s].TokenIds);
            }
        }

        // The rolling repeats were merged by the import's dedup: "step N take the pan" survives only inside the longer text.
        Assert.Contains(records[good[0]].Captions, c => c.Text.Contains("heat the oil", StringComparison.Ordinal));

        // With captions required, the video the tables lack fails with class captions; the others are unaffected.
        var strict = Path.Combine(_dir, "strict");
        run = await VideoDataCli.RunAsync(null, [.. Arguments(manifest, strict), "--set", $"captions.tables={tables}", "--set", "captions.required=true"]);
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        var ledgers = Directory.EnumerateFiles(Path.Combine(strict, "ledger"), "*.json")
            .SelectMany(f => JsonSerializer.Deserialize<ShardLedger>(File.ReadAllText(f), ShardLedger.JsonOptions)!.Videos)
            .ToDictionary(e => e.VideoId, StringComparer.Ordinal);
        Assert.Equal("captions", ledgers[uncaptioned].FailureClass);
        Assert.All(good.Where(id => id != uncaptioned), id => Assert.True(ledgers[id].IsDone, id));
    }

    [Fact]
    public async Task Preprocess_CaptionTablesFolderWithoutTables_FailsNamingTheSetting()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var run = await VideoDataCli.RunAsync(null, [.. Arguments(corpus.Manifest, Path.Combine(_dir, "out")), "--set", $"captions.tables={empty}"]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("captions.tables", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("captions import", run.Stderr, StringComparison.Ordinal);
    }

    private static string[] Arguments(string manifest, string output) =>
    [
        "preprocess", "--manifest", manifest, "--output", output, "--progress", "json",
        "--set", "shard_size=4", "--set", "decode.fps=16", "--set", "decode.size=112", "--set", "decode.decoder=cpu", "--set", "decode.threads=1",
        "--set", "encoder.seconds_per_batch=4", "--set", "stages.decode_parallelism=2", "--set", "stages.decoded_seconds_capacity=8",
    ];
}

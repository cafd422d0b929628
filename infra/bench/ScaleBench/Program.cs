// Input generator for infra/bench/scale.sh: HowTo100M-sized inputs with the real files' shapes, for N videos (the first N
// of one fixed id sequence, so every size is a prefix of the next).
//   ScaleBench manifest N PATH     CSV manifest: video_id,duration (HowTo100M_v1.csv has the id and metadata; the URI comes from a template)
//   ScaleBench captions N PATH     raw_caption.json: {"id": {"start": [...], "end": [...], "text": [...]}, ...}, 10-69 ASR segments
//                                  a video (about 40 on average), YouTube-style rolling text so the dedup has work to do
//   ScaleBench shards N DIR [FROM] feature shards as preprocess writes them (4096 videos each), 1 second x 1 dim of features (planning
//                                  never reads features), each video's caption segments (start, end; no text); 1 video in 1000 without captions;
//                                  full shards already written for a larger N in FROM are copied (they are identical), only the last is written
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using VideoData.Shards;

if (args.Length is < 3 or > 4 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var videos) || videos < 1)
{
    Console.Error.WriteLine("usage: ScaleBench manifest|captions|shards N PATH");
    return 2;
}

switch (args[0])
{
    case "manifest":
        WriteManifest(videos, args[2]);
        break;
    case "captions":
        WriteCaptions(videos, args[2]);
        break;
    case "shards":
        await WriteShardsAsync(videos, args[2], args.Length > 3 ? args[3] : null);
        break;
    default:
        Console.Error.WriteLine($"ScaleBench: unknown kind '{args[0]}'; use manifest, captions or shards.");
        return 2;
}

return 0;

// An 11-character YouTube-like id, a fixed function of the index.
static string Id(int index)
{
    Span<byte> hash = stackalloc byte[32];
    SHA256.HashData(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"video-{index}")), hash);
    Span<byte> text = stackalloc byte[12];
    Base64Url.EncodeToUtf8(hash[..9], text, out _, out var written);
    return Encoding.ASCII.GetString(text[..11]);
}

// A video's ASR segments: start, end, and words drawn from a small vocabulary, each cue often repeating the tail of the previous one.
static IEnumerable<(double Start, double End, string Text)> Segments(int index)
{
    var random = new Random(unchecked((index * 7919) + 17));
    var count = random.Next(10, 70);
    var t = random.NextDouble() * 3;
    string[] previous = [];
    for (var s = 0; s < count; s++)
    {
        var words = new List<string>();
        if (previous.Length > 0 && random.Next(3) == 0)
        {
            words.AddRange(previous[random.Next(previous.Length)..]);
        }

        var fresh = random.Next(2, 9);
        for (var w = 0; w < fresh; w++)
        {
            words.Add(Words[random.Next(Words.Length)]);
        }

        var duration = 1 + (random.NextDouble() * 4);
        yield return (Math.Round(t, 2), Math.Round(t + duration, 2), string.Join(' ', words));
        t += duration * (0.6 + (random.NextDouble() * 0.6));
        previous = [.. words];
    }
}

static void WriteManifest(int videos, string path)
{
    using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
    writer.Write("video_id,duration\n");
    for (var i = 0; i < videos; i++)
    {
        writer.Write(Id(i));
        writer.Write(',');
        writer.Write((60 + (i % 900)).ToString(CultureInfo.InvariantCulture));
        writer.Write('\n');
    }
}

static void WriteCaptions(int videos, string path)
{
    using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
    writer.Write('{');
    var starts = new StringBuilder();
    var ends = new StringBuilder();
    var texts = new StringBuilder();
    for (var i = 0; i < videos; i++)
    {
        starts.Clear();
        ends.Clear();
        texts.Clear();
        foreach (var (start, end, text) in Segments(i))
        {
            var first = starts.Length == 0;
            starts.Append(first ? "" : ", ").Append(start.ToString("0.##", CultureInfo.InvariantCulture));
            ends.Append(first ? "" : ", ").Append(end.ToString("0.##", CultureInfo.InvariantCulture));
            texts.Append(first ? "\"" : ", \"").Append(text).Append('"');
        }

        writer.Write(i == 0 ? "\"" : ", \"");
        writer.Write(Id(i));
        writer.Write("\": {\"start\": [");
        writer.Write(starts);
        writer.Write("], \"end\": [");
        writer.Write(ends);
        writer.Write("], \"text\": [");
        writer.Write(texts);
        writer.Write("]}");
    }

    writer.Write('}');
}

static async Task WriteShardsAsync(int videos, string folder, string? from)
{
    const int perShard = 4096;
    Directory.CreateDirectory(folder);
    var lineage = new ShardLineage
    {
        Encoder = "synthetic",
        WeightsSha256 = new string('0', 64),
        Extra = new Dictionary<string, string> { ["videodata.synthetic"] = "scale rehearsal: 1-d features, captions without text" },
    };
    var shardCount = (videos + perShard - 1) / perShard;
    await Parallel.ForEachAsync(Enumerable.Range(0, shardCount), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (shard, ct) =>
    {
        var path = Path.Combine(folder, $"shard-{shard:D5}.parquet");
        var copy = from is null ? null : Path.Combine(from, Path.GetFileName(path));
        if ((shard + 1) * perShard <= videos && copy is not null && File.Exists(copy))
        {
            File.Copy(copy, path, overwrite: true);
            return;
        }

        var writer = FeatureShardWriter.CreateFile(path, lineage);
        await using (writer)
        {
            for (var i = shard * perShard; i < Math.Min(videos, (shard + 1) * perShard); i++)
            {
                var captions = i % 1000 == 999
                    ? []
                    : Segments(i).Select(s => new CaptionSegment(s.Start, s.End, string.Empty, [])).ToArray();
                await writer.AddAsync(new FeatureRecord { VideoId = Id(i), Duration = 1, Seconds = 1, Dim = 1, Features = [0f], Captions = captions }, ct);
            }

            await writer.CompleteAsync(ct);
        }
    });
}

internal static partial class Program
{
    private static readonly string[] Words =
        ("now we are going to cut the onion into small pieces and then add some oil to the pan heat it up until golden brown "
        + "stir well with salt pepper garlic tomato sauce minutes later serve").Split(' ');
}

using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VideoData.Captions.Tests.Import;

/// <summary>
/// Writes a synthetic HowTo100M <c>raw_caption.json</c>: YouTube-like ids, ASR-style cues that
/// often repeat the end of the previous cue (so dedup has work), occasional null and empty texts,
/// and damaged entries at chosen positions.
/// </summary>
internal static class CorpusGenerator
{
    private static readonly string[] s_words =
        "now we are going to cut the onion into small pieces and then add some oil to the pan heat it up until golden brown stir well with salt pepper garlic tomato sauce minutes later serve".Split(' ');

    public sealed record Stats(int Entries, int Damaged, int Duplicates, long CuesOfImported, IReadOnlyList<string> ReadableIds);

    /// <param name="path">File to write.</param>
    /// <param name="videos">Number of well-formed videos.</param>
    /// <param name="damagedEvery">Insert a damaged entry after every this many videos (0: none).</param>
    /// <param name="seed">Randomness.</param>
    public static Stats Write(string path, int videos, int damagedEvery, int seed)
    {
        var random = new Random(seed);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false));
        writer.Write('{');
        var first = true;
        var damaged = 0;
        var cuesById = new Dictionary<string, int>();
        var ids = new List<string>(videos);
        string? duplicateOf = null;
        for (var i = 0; i < videos; i++)
        {
            var id = RandomId(random);
            if (i == videos / 2 && duplicateOf is not null)
            {
                // The same id again: the earlier entry is superseded (as json.load keeps the last).
                id = duplicateOf;
            }
            else
            {
                ids.Add(id);
            }

            if (i == videos / 3)
            {
                duplicateOf = id;
            }

            var count = random.Next(10, 70);
            Separator();
            writer.Write(JsonSerializer.Serialize(id));
            writer.Write(": ");
            WriteVideo(writer, random, count);
            cuesById[id] = count;

            if (damagedEvery > 0 && (i + 1) % damagedEvery == 0)
            {
                var damagedId = RandomId(random);
                ids.Add(damagedId);
                Separator();
                writer.Write(JsonSerializer.Serialize(damagedId));
                writer.Write(": ");
                writer.Write((damaged % 3) switch
                {
                    0 => "{\"start\": [0, \"oops\"], \"end\": [1, 2], \"text\": [\"a\", \"b\"]}",
                    1 => "{\"start\": [0, 1], \"end\": [1, 2], \"text\": [\"a\", \"b\"",
                    _ => "[\"not\", \"an\", \"object\"]",
                });
                damaged++;
            }
        }

        writer.Write('}');
        return new Stats(videos + damaged, damaged, duplicateOf is null ? 0 : 1, cuesById.Values.Sum(count => (long)count), ids);

        void Separator()
        {
            if (!first)
            {
                writer.Write(", ");
            }

            first = false;
        }
    }

    private static void WriteVideo(StreamWriter writer, Random random, int count)
    {
        var starts = new StringBuilder();
        var ends = new StringBuilder();
        var texts = new StringBuilder();
        var time = random.NextDouble() * 3;
        var previous = new List<string>();
        for (var c = 0; c < count; c++)
        {
            var words = new List<string>();
            if (previous.Count > 0 && random.Next(3) == 0)
            {
                words.AddRange(previous.Skip(random.Next(previous.Count)));
            }

            for (var n = random.Next(2, 9); n > 0; n--)
            {
                words.Add(s_words[random.Next(s_words.Length)]);
            }

            var duration = 1 + (random.NextDouble() * 4);
            var sep = c == 0 ? string.Empty : ", ";
            starts.Append(sep).Append(Math.Round(time, 2).ToString(CultureInfo.InvariantCulture));
            ends.Append(sep).Append(Math.Round(time + duration, 2).ToString(CultureInfo.InvariantCulture));
            var roll = random.Next(200);
            texts.Append(sep).Append(roll switch
            {
                0 => "null",
                1 => "\"  \"",
                2 => JsonSerializer.Serialize(string.Join(' ', words[..(words.Count / 2)]) + "\n" + string.Join(' ', words[(words.Count / 2)..])),
                _ => JsonSerializer.Serialize(string.Join(' ', words)),
            });
            time += duration * (0.6 + (random.NextDouble() * 0.6));
            previous = words;
        }

        writer.Write($"{{\"start\": [{starts}], \"end\": [{ends}], \"text\": [{texts}]}}");
    }

    private static string RandomId(Random random)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        return string.Create(11, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[r.Next(Alphabet.Length)];
            }
        });
    }
}

using System.Text;
using VideoData.Captions.Reading;

namespace VideoData.Captions.Tests.Reading;

public sealed class HowTo100MEntryParserTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TryParse_RandomAndDamagedEntries_FastPathMatchesJsonReader(int seed)
    {
        // Well-formed entries in every number and string form JSON allows, other keys, repeated and
        // missing keys, non-string texts, then the same with one byte deleted, changed or inserted:
        // the fast path must give the JSON reader's cues, unpaired count and damage, or its exception.
        var random = new Random(seed);
        string[] numbers = ["0", "-0", "1", "12.5", "0.25", "-3.75", "1e2", "2.5E-3", "1E+400", "01", "1.", ".5", "+1", "-", "1e", "NaN", "3"];
        string[] texts = ["\"hello world\"", "\"café 東京\"", "\"a\\nb\"", "\"\\u00e9t\\u00e9\"", "\"q\\\"x\"", "\"\"", "null", "7", "\"tab\tin\"", "\"   spaced  \""];
        for (var round = 0; round < 3000; round++)
        {
            var json = Encoding.UTF8.GetBytes(Entry(random, numbers, texts));
            Check(json);
            var damaged = json.ToList();
            var at = random.Next(damaged.Count);
            switch (random.Next(3))
            {
                case 0:
                    damaged.RemoveAt(at);
                    break;
                case 1:
                    damaged[at] = (byte)"{}[]\",:0a \\\u0001"[random.Next(12)];
                    break;
                default:
                    damaged.Insert(at, random.Next(4) == 0 ? (byte)0xC3 : (byte)"{}[]\",:0a "[random.Next(10)]);
                    break;
            }

            Check([.. damaged]);
        }
    }

    private static string Entry(Random random, string[] numbers, string[] texts)
    {
        var ws = new[] { "", " ", "\n  ", "\t" };
        string Ws() => ws[random.Next(ws.Length)];
        string Array(Func<string> element) => "[" + Ws() + string.Join("," + Ws(), Enumerable.Range(0, random.Next(0, 5)).Select(_ => element())) + Ws() + "]";
        var keys = new List<string> { "start", "end", "text" };
        if (random.Next(6) == 0)
        {
            keys.RemoveAt(random.Next(keys.Count));
        }

        if (random.Next(6) == 0)
        {
            keys.Add(random.Next(2) == 0 ? "start" : "other");
        }

        keys = [.. keys.OrderBy(_ => random.Next())];
        var members = keys.Select(key => Ws() + "\"" + key + "\"" + Ws() + ":" + Ws()
            + (key == "text" ? Array(() => texts[random.Next(texts.Length)]) : key == "other" ? "{\"x\": 1}" : Array(() => numbers[random.Next(numbers.Length)])));
        return Ws() + "{" + string.Join(",", members) + Ws() + "}" + Ws();
    }

    private static void Check(byte[] json)
    {
        Assert.Equal(Run(json, general: true), Run(json, general: false));
    }

    private static string Run(byte[] json, bool general)
    {
        try
        {
            var cues = general
                ? HowTo100MEntryParser.TryParseGeneral(json, out var unpaired, out var damage)
                : HowTo100MEntryParser.TryParse(json, out unpaired, out damage);
            return cues is null
                ? $"damage: {damage}"
                : $"{unpaired}: " + string.Join(" | ", cues.Select(cue => $"{cue.Start:R} {cue.End:R} {cue.Text ?? "<null>"}"));
        }
        catch (Exception error)
        {
            return $"throws {error.GetType().Name}";
        }
    }
}

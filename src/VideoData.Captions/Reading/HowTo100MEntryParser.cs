using System.Runtime.CompilerServices;
using System.Text.Json;

namespace VideoData.Captions.Reading;

/// <summary>Parses one video's <c>{"start": [], "end": [], "text": []}</c> object from complete bytes.</summary>
internal static class HowTo100MEntryParser
{
    /// <summary>Parses the object; returns null and sets <paramref name="damage"/> when it is not a valid entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static List<CaptionCue>? TryParse(ReadOnlySpan<byte> json, out int unpaired, out string? damage)
    {
        unpaired = 0;
        List<double>? starts = null, ends = null;
        List<string?>? texts = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                damage = $"the value is {Describe(reader.TokenType)}, not an object with start, end and text";
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueSpan;
                reader.Read();
                if (name.SequenceEqual("start"u8))
                {
                    starts = ReadNumbers(ref reader, "start");
                }
                else if (name.SequenceEqual("end"u8))
                {
                    ends = ReadNumbers(ref reader, "end");
                }
                else if (name.SequenceEqual("text"u8))
                {
                    texts = ReadTexts(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                damage = "unexpected content after the entry object";
                return null;
            }
        }
        catch (JsonException error)
        {
            damage = $"invalid JSON ({error.Message})";
            return null;
        }
        catch (FormatException)
        {
            damage = "a number is out of the range of a double";
            return null;
        }
        catch (EntryShapeException error)
        {
            damage = error.Message;
            return null;
        }

        if (starts is null || ends is null || texts is null)
        {
            damage = $"missing '{(starts is null ? "start" : ends is null ? "end" : "text")}'";
            return null;
        }

        var count = Math.Min(starts.Count, Math.Min(ends.Count, texts.Count));
        unpaired = Math.Max(starts.Count, Math.Max(ends.Count, texts.Count)) - count;
        var cues = new List<CaptionCue>(count);
        for (var i = 0; i < count; i++)
        {
            cues.Add(new CaptionCue(starts[i], ends[i], texts[i]));
        }

        damage = null;
        return cues;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<double> ReadNumbers(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new EntryShapeException($"'{name}' is {Describe(reader.TokenType)}, not an array of numbers");
        }

        var values = new List<double>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
            {
                throw new EntryShapeException($"'{name}[{values.Count}]' is {Describe(reader.TokenType)}, not a number");
            }

            values.Add(reader.GetDouble());
        }

        return values;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<string?> ReadTexts(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new EntryShapeException($"'text' is {Describe(reader.TokenType)}, not an array");
        }

        var values = new List<string?>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                values.Add(reader.GetString());
            }
            else
            {
                // The reference skips non-string text; keep the slot so times stay paired.
                reader.Skip();
                values.Add(null);
            }
        }

        return values;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "missing",
    };

    private sealed class EntryShapeException(string message) : Exception(message);
}

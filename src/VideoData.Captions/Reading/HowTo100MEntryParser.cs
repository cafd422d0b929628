using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace VideoData.Captions.Reading;

/// <summary>Parses one video's <c>{"start": [], "end": [], "text": []}</c> object from complete bytes.</summary>
internal static class HowTo100MEntryParser
{
    /// <summary>Parses the object; returns null and sets <paramref name="damage"/> when it is not a valid entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static List<CaptionCue>? TryParse(ReadOnlySpan<byte> json, out int unpaired, out string? damage)
    {
        unpaired = 0;
        var simple = t_simple ??= new SimpleEntry();
        if (simple.TryParse(json))
        {
            damage = null;
            return Pair(simple.Starts, simple.Ends, simple.Texts, out unpaired);
        }

        return TryParseGeneral(json, out unpaired, out damage);
    }

    /// <summary>As <see cref="TryParse"/>, always with the JSON reader (tests compare it with the fast path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static List<CaptionCue>? TryParseGeneral(ReadOnlySpan<byte> json, out int unpaired, out string? damage)
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

        damage = null;
        return Pair(starts, ends, texts, out unpaired);
    }

    // The reference zips the three arrays: elements beyond the shortest are ignored (and counted here).
    private static List<CaptionCue> Pair(List<double> starts, List<double> ends, List<string?> texts, out int unpaired)
    {
        var count = Math.Min(starts.Count, Math.Min(ends.Count, texts.Count));
        unpaired = Math.Max(starts.Count, Math.Max(ends.Count, texts.Count)) - count;
        var cues = new List<CaptionCue>(count);
        for (var i = 0; i < count; i++)
        {
            cues.Add(new CaptionCue(starts[i], ends[i], texts[i]));
        }

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

    [ThreadStatic]
    private static SimpleEntry? t_simple;

    /// <summary>
    /// The fast path for the shape nearly every entry has: one object with exactly the keys
    /// <c>start</c> and <c>end</c> (arrays of numbers) and <c>text</c> (an array of strings), in any
    /// order. Anything else (another key, a repeated key, a non-string text, a number outside JSON's
    /// grammar or a double's range, a control character or invalid UTF-8 in a string, trailing
    /// content) is left to the JSON reader, which gives the same result or the same damage report.
    /// </summary>
    private sealed class SimpleEntry
    {
        private static readonly SearchValues<byte> s_stringStop = SearchValues.Create(
            "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"u8);

        public List<double> Starts { get; } = [];

        public List<double> Ends { get; } = [];

        public List<string?> Texts { get; } = [];

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool TryParse(ReadOnlySpan<byte> json)
        {
            Starts.Clear();
            Ends.Clear();
            Texts.Clear();
            var seen = 0;
            var pos = Skip(json, 0);
            if (At(json, pos) != '{')
            {
                return false;
            }

            pos = Skip(json, pos + 1);
            while (true)
            {
                if (At(json, pos) != '"')
                {
                    return false;
                }

                var keyLength = json[(pos + 1)..].IndexOf((byte)'"');
                if (keyLength < 0)
                {
                    return false;
                }

                var key = json.Slice(pos + 1, keyLength);
                var which = key.SequenceEqual("start"u8) ? 0 : key.SequenceEqual("end"u8) ? 1 : key.SequenceEqual("text"u8) ? 2 : -1;
                if (which < 0 || (seen & (1 << which)) != 0)
                {
                    return false;
                }

                seen |= 1 << which;
                pos = Skip(json, pos + keyLength + 2);
                if (At(json, pos) != ':')
                {
                    return false;
                }

                pos = Skip(json, pos + 1);
                if (At(json, pos) != '[')
                {
                    return false;
                }

                pos = Skip(json, pos + 1);
                if (At(json, pos) == ']')
                {
                    pos++;
                }
                else
                {
                    while (true)
                    {
                        if (!(which == 2 ? TryText(json, ref pos) : TryNumber(json, ref pos, which == 0 ? Starts : Ends)))
                        {
                            return false;
                        }

                        pos = Skip(json, pos);
                        var next = At(json, pos);
                        pos = Skip(json, pos + 1);
                        if (next == ']')
                        {
                            break;
                        }

                        if (next != ',')
                        {
                            return false;
                        }
                    }
                }

                pos = Skip(json, pos);
                var after = At(json, pos);
                pos = Skip(json, pos + 1);
                if (after == '}')
                {
                    return pos >= json.Length && seen == 7;
                }

                if (after != ',')
                {
                    return false;
                }
            }
        }

        private bool TryText(ReadOnlySpan<byte> json, ref int pos)
        {
            if (At(json, pos) != '"')
            {
                return false;
            }

            var length = json[(pos + 1)..].IndexOfAny(s_stringStop);
            if (length < 0)
            {
                return false;
            }

            var content = json.Slice(pos + 1, length);
            if (json[pos + 1 + length] != '"' || !Utf8.IsValid(content))
            {
                // An escape (the JSON reader decodes it), a raw control character or invalid UTF-8 (it reports them).
                return false;
            }

            Texts.Add(Encoding.UTF8.GetString(content));
            pos += length + 2;
            return true;
        }

        private static bool TryNumber(ReadOnlySpan<byte> json, ref int pos, List<double> values)
        {
            // JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
            var start = pos;
            var at = pos;
            if (At(json, at) == '-')
            {
                at++;
            }

            var digits = Digits(json, ref at);
            if (digits == 0 || (digits > 1 && json[at - digits] == '0'))
            {
                return false;
            }

            if (At(json, at) == '.')
            {
                at++;
                if (Digits(json, ref at) == 0)
                {
                    return false;
                }
            }

            if (At(json, at) is 'e' or 'E')
            {
                at++;
                if (At(json, at) is '+' or '-')
                {
                    at++;
                }

                if (Digits(json, ref at) == 0)
                {
                    return false;
                }
            }

            // The conversion the JSON reader's GetDouble makes; out of range is its damage to report.
            var token = json[start..at];
            if (!Utf8Parser.TryParse(token, out double value, out var consumed) || consumed != token.Length || !double.IsFinite(value))
            {
                return false;
            }

            values.Add(value);
            pos = at;
            return true;
        }

        private static int Digits(ReadOnlySpan<byte> json, ref int at)
        {
            var start = at;
            while (at < json.Length && json[at] - (uint)'0' <= 9)
            {
                at++;
            }

            return at - start;
        }

        private static int At(ReadOnlySpan<byte> json, int pos) => pos < json.Length ? json[pos] : -1;

        private static int Skip(ReadOnlySpan<byte> json, int pos)
        {
            while (pos < json.Length && json[pos] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
            {
                pos++;
            }

            return pos;
        }
    }
}

using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VideoData.Core.Configuration;

/// <summary>
/// Reads and writes every enum as its snake_case name (<c>MmapThreshold</c> ↔ <c>"mmap_threshold"</c>), or the name a
/// <see cref="JsonStringEnumMemberNameAttribute"/> gives the member. Invariant: a value that names no member is refused
/// with a <see cref="JsonException"/> whose message quotes the value and lists the accepted names in declaration order
/// (<c>'gpux' is not one of cpu, cuda or auto</c>); numbers are refused too, so a setting never maps to a member silently.
/// </summary>
public sealed class SnakeCaseEnumConverter : JsonConverterFactory
{
    /// <inheritdoc />
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    /// <inheritdoc />
    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert))!;

    /// <summary>The accepted names of <typeparamref name="T"/>, in declaration order.</summary>
    public static IReadOnlyList<string> NamesOf<T>()
        where T : struct, Enum => Converter<T>.Names.Select(n => n.Name).ToList();

    /// <summary>The name <paramref name="value"/> is written as.</summary>
    public static string NameOf<T>(T value)
        where T : struct, Enum => Converter<T>.Names.FirstOrDefault(n => EqualityComparer<T>.Default.Equals(n.Value, value)).Name
        ?? throw new ArgumentOutOfRangeException(nameof(value), value, $"{typeof(T).Name} has no member {value}.");

    /// <summary>The member named <paramref name="name"/>; throws <see cref="UnknownNameException"/> listing the accepted names otherwise.</summary>
    public static T Parse<T>(string name)
        where T : struct, Enum
    {
        foreach (var (member, value) in Converter<T>.Names)
        {
            if (string.Equals(member, name, StringComparison.Ordinal))
            {
                return value;
            }
        }

        throw new UnknownNameException(name, NamesOf<T>());
    }

    /// <summary>Names as a reader says them: <c>a, b or c</c>.</summary>
    public static string ListText(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return names.Count <= 1 ? string.Join("", names) : string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1];
    }

    private static string SnakeCase(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    private sealed class Converter<T> : JsonConverter<T>
        where T : struct, Enum
    {
        public static readonly (string Name, T Value)[] Names = typeof(T)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .OrderBy(f => f.MetadataToken)
            .Select(f => (f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? SnakeCase(f.Name), (T)f.GetValue(null)!))
            .ToArray();

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : JsonSerializer.Deserialize<JsonElement>(ref reader).GetRawText();
            try
            {
                return Parse<T>(text);
            }
            catch (UnknownNameException ex)
            {
                throw new JsonException(ex.Message, ex);
            }
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(NameOf(value));
    }
}

/// <summary>A setting's value names no member of its enum; carries the value and the accepted names for the caller's message.</summary>
public sealed class UnknownNameException : FormatException
{
    /// <summary>Creates the exception; the message reads <c>'x' is not one of a, b or c</c>.</summary>
    public UnknownNameException(string value, IReadOnlyList<string> names)
        : base($"'{value}' is not one of {SnakeCaseEnumConverter.ListText(names)}")
    {
        Value = value;
        Names = names;
    }

    /// <summary>The value as given.</summary>
    public string Value { get; }

    /// <summary>The accepted names, in declaration order.</summary>
    public IReadOnlyList<string> Names { get; }
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace VideoData.Core.Configuration;

/// <summary>
/// The one set of JSON options for the files users edit (pipeline and training definitions) and the settings read from
/// them: snake_case keys, enums by snake_case name (<see cref="SnakeCaseEnumConverter"/>), comments and trailing commas
/// allowed, unknown keys rejected, written indented. Read-only: derive with <c>new JsonSerializerOptions(Options)</c>.
/// </summary>
public static class ConfigurationJson
{
    /// <summary>The shared options (frozen).</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    /// <summary>
    /// The JSON path of a failed read (<c>$.encoder.device</c>, <c>$['encoder']['device']</c>) as a field path in file
    /// syntax (<c>encoder.device</c>), or null when the exception has none.
    /// </summary>
    public static string? FieldPath(JsonException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception.Path is not { Length: > 1 } path)
        {
            return null;
        }

        return path.TrimStart('$').Replace("['", ".", StringComparison.Ordinal).Replace("']", "", StringComparison.Ordinal).TrimStart('.');
    }

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            WriteIndented = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            Converters = { new SnakeCaseEnumConverter() },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

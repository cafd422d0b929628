using System.Text.Json;

namespace VideoData.Shards;

/// <summary>
/// The per-video index a feature shard carries in its footer (<see cref="FeatureShardFormat.IndexKey"/>): a JSON object
/// mapping each video id to its row group. The one place that writes and parses it, for the reader, the assembler and
/// the training store alike.
/// </summary>
internal static class ShardIndex
{
    /// <summary>The JSON text of <paramref name="index"/>.</summary>
    public static string Serialize(IReadOnlyDictionary<string, int> index) => JsonSerializer.Serialize(index);

    /// <summary>
    /// Parses the index of a shard with <paramref name="rowGroupCount"/> row groups, in the order the JSON lists the
    /// videos (the writer's order). <paramref name="where"/> names the shard in messages.
    /// </summary>
    /// <exception cref="InvalidDataException">The text is not an object of ids to integers, or names a row group the shard does not have.</exception>
    public static Dictionary<string, int> Parse(string json, string where, int rowGroupCount)
    {
        Dictionary<string, int>? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<Dictionary<string, int>>(json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{where} has an unreadable video index: {ex.Message}", ex);
        }

        foreach (var (id, group) in parsed ?? [])
        {
            if (group < 0 || group >= rowGroupCount)
            {
                throw new InvalidDataException($"{where}: its index places video '{id}' in row group {group} of {rowGroupCount}.");
            }
        }

        return parsed ?? new Dictionary<string, int>(StringComparer.Ordinal);
    }
}

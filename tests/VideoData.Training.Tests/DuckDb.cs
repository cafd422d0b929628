using System.Text.Json;

namespace VideoData.Training.Tests;

/// <summary>The shared DuckDB runner (<see cref="VideoData.Testing.DuckDb"/>), visible by its short name in every namespace of this project.</summary>
internal static class DuckDb
{
    public static Task<JsonElement[]> QueryJsonAsync(params string[] queries) => VideoData.Testing.DuckDb.QueryJsonAsync(queries);
}

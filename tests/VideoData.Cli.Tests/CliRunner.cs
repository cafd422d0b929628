using VideoData.Testing;

namespace VideoData.Cli.Tests;

/// <summary>Runs the real <c>videodata</c> program (built beside the tests) as a child process.</summary>
internal static class CliRunner
{
    public static Task<VideoDataCli.Result> RunAsync(IReadOnlyDictionary<string, string?>? environment, params string[] arguments) =>
        VideoDataCli.RunAsync(environment, arguments);
}

using System.Diagnostics;

namespace VideoData.Testing;

/// <summary>
/// Runs the real <c>videodata</c> program as a child process. The test project must reference
/// src/VideoData.Cli so that videodata.dll is built beside the tests.
/// </summary>
public static class VideoDataCli
{
    /// <summary>Exit code and output of a finished run.</summary>
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Starts the program with redirected output; the caller waits for or kills it.</summary>
    public static Process Start(IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "videodata.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: the test project must reference src/VideoData.Cli.");
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Tests must not pick up the developer's cloud configuration.
        foreach (var name in new[] { "VIDEODATA_S3_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX" })
        {
            start.Environment.Remove(name);
        }

        // Nor its other AWS settings: no ~/.aws files, no role or token variables, no instance metadata service (a run with
        // no credentials must say so at once instead of waiting for 169.254.169.254). A test sets what it needs.
        foreach (var name in new[] { "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL_STS", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "VIDEODATA_S3_PATH_STYLE", "VIDEODATA_S3_CHUNK_ENCODING", "VIDEODATA_S3_CHECKSUM", "VIDEODATA_S3_MAX_CONCURRENCY", "VIDEODATA_S3_PART_SIZE_MIB", "SLURM_ARRAY_TASK_MIN" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["AWS_CONFIG_FILE"] = "/nonexistent/videodata-tests/aws-config";
        start.Environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/videodata-tests/aws-credentials";
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }

    /// <summary>Runs the program to completion (at most <paramref name="timeout"/>, 5 minutes by default).</summary>
    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string?>? environment, string[] arguments, TimeSpan? timeout = null)
    {
        using var process = Start(environment, arguments);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"videodata {string.Join(' ', arguments)} did not finish within {timeout ?? TimeSpan.FromMinutes(5)}.");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}

using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using VideoData.Features.Runtime;
using Amazon.Runtime;
using Amazon.S3;
using VideoData.Media;
using VideoData.Storage.S3;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata doctor</c>: is everything the CPU path needs present, and what else is usable here.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the report as JSON (one object with a list of checks) instead of a table." };
        var command = new Command(
            "doctor",
            "Checks the native dependencies (FFmpeg 5.1 libraries, hardware decoders, TorchSharp/libtorch, CUDA, the libstdc++ fix), "
            + "names the source of the standard AWS credential chain in use (environment keys, profile, role_arn profile, web identity, SSO, "
            + "container or instance role; never a key or secret) and, when an S3 endpoint is configured, whether it is reachable with the configured credentials. "
            + "Exits 0 when everything the CPU path needs is present; otherwise prints one line per missing piece and exits 1.")
        {
            json,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var checks = await DoctorChecks.RunAsync(cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { ok = checks.All(c => c.Ok || !c.Required), checks }, DoctorChecks.JsonOptions));
            }
            else
            {
                Print(checks);
            }

            var missing = checks.Where(c => c.Required && !c.Ok).ToList();
            foreach (var check in missing)
            {
                Console.Error.WriteLine($"missing: {check.Component}: {check.Detail}");
            }

            return missing.Count == 0 ? 0 : 1;
        });
        return command;
    }

    private static void Print(IReadOnlyList<DoctorCheck> checks)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]videodata doctor[/]");
        table.AddColumn("Component");
        table.AddColumn("Status");
        table.AddColumn("Detail");
        foreach (var check in checks)
        {
            var status = (check.Ok, check.Required) switch
            {
                (true, _) => "[green]ok[/]",
                (false, true) => "[red]missing[/]",
                (false, false) => "[yellow]not available[/]",
            };
            table.AddRow(Markup.Escape(check.Component), status, Markup.Escape(check.Detail));
        }

        AnsiConsole.Write(table);
    }
}

/// <summary>One line of the doctor's report.</summary>
/// <param name="Component">What was checked.</param>
/// <param name="Ok">Whether it is present and working.</param>
/// <param name="Required">Whether the CPU path needs it (a missing required piece makes the doctor exit 1).</param>
/// <param name="Detail">Versions, paths, or why it is not available. Never contains secrets.</param>
internal sealed record DoctorCheck(string Component, bool Ok, bool Required, string Detail);

internal static class DoctorChecks
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task<IReadOnlyList<DoctorCheck>> RunAsync(CancellationToken cancellationToken)
    {
        var checks = new List<DoctorCheck>();
        checks.AddRange(Ffmpeg());
        checks.AddRange(Torch());
        checks.Add(await CredentialsAsync(cancellationToken).ConfigureAwait(false));
        checks.Add(await S3Async(cancellationToken).ConfigureAwait(false));
        return checks;
    }

    /// <summary>
    /// Which source of the standard AWS chain the S3 client would use (environment keys, profile, web identity, SSO,
    /// container or instance role) and whether it hands out credentials now (a role source calls its service once).
    /// Names the source, the profile, the role ARN and the token file; never a key, a secret or a token.
    /// </summary>
    private static async Task<DoctorCheck> CredentialsAsync(CancellationToken cancellationToken)
    {
        var source = AwsCredentialSource.Find();
        if (source.Credentials is null)
        {
            return new DoctorCheck("AWS credentials", false, Required: false, $"none: {source.Description}");
        }

        var problem = await source.VerifyAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        return problem is null
            ? new DoctorCheck("AWS credentials", true, Required: false, $"{source.Kind}: {source.Description}")
            : new DoctorCheck("AWS credentials", false, Required: false, $"{source.Kind}: {source.Description}: not usable: {problem}");
    }

    /// <summary>
    /// When an S3 endpoint is configured (VIDEODATA_S3_ENDPOINT, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) or AWS
    /// credentials are in the environment, lists buckets with the configured credentials. Reports the endpoint
    /// and the outcome only: credentials are never printed.
    /// </summary>
    private static async Task<DoctorCheck> S3Async(CancellationToken cancellationToken)
    {
        S3StoreOptions options;
        try
        {
            options = new S3StoreOptions().ApplyEnvironment();
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            return new DoctorCheck("S3", false, Required: false, $"configuration is invalid: {ex.Message}");
        }

        var configured = options.ServiceUrl is not null
            || Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is { Length: > 0 }
            || Environment.GetEnvironmentVariable("AWS_PROFILE") is { Length: > 0 }
            || Environment.GetEnvironmentVariable("AWS_WEB_IDENTITY_TOKEN_FILE") is { Length: > 0 };
        if (!configured)
        {
            return new DoctorCheck("S3", false, Required: false, "not configured (set VIDEODATA_S3_ENDPOINT or AWS_ENDPOINT_URL, and AWS credentials, to check)");
        }

        var endpoint = options.ServiceUrl?.ToString() ?? $"AWS S3 ({options.Region})";
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            using var client = S3BlobStore.CreateClient(options);
            var response = await client.ListBucketsAsync(timeout.Token).ConfigureAwait(false);
            return new DoctorCheck("S3", true, Required: false, $"{endpoint}: reachable, {response.Buckets?.Count ?? 0} bucket(s) visible with the configured credentials");
        }
        catch (AmazonS3Exception ex)
        {
            return new DoctorCheck("S3", false, Required: false, $"{endpoint}: {(int)ex.StatusCode} {ex.ErrorCode}: {ex.Message}");
        }
        catch (Exception ex) when (ex is AmazonClientException or HttpRequestException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            return new DoctorCheck("S3", false, Required: false, $"{endpoint}: not reachable: {ex.GetBaseException().Message}");
        }
    }

    private static IEnumerable<DoctorCheck> Ffmpeg()
    {
        var ffmpeg = FfmpegRuntime.Inspect();
        foreach (var library in ffmpeg.Libraries)
        {
            yield return new DoctorCheck(
                library.Name,
                library.Ok,
                Required: true,
                library.Ok ? $"{library.Version} ({library.ResolvedPath})" : library.Detail);
        }

        yield return new DoctorCheck("FFmpeg build", ffmpeg.FfmpegVersion is not null, Required: false, ffmpeg.FfmpegVersion ?? "unknown");
        yield return new DoctorCheck($"hwaccel {ffmpeg.Cuda.Name} (NVDEC)", ffmpeg.Cuda.Available, Required: false, ffmpeg.Cuda.Detail);
    }

    private static IEnumerable<DoctorCheck> Torch()
    {
        var torch = TorchRuntime.Inspect();
        yield return new DoctorCheck(
            "TorchSharp",
            torch.Loaded,
            Required: true,
            torch.Loaded
                ? $"backend {torch.Backend}, TorchSharp {torch.TorchSharpVersion}, libtorch {torch.LibTorchVersion ?? "unknown"}"
                : $"backend {torch.Backend}: libtorch failed to load: {torch.LoadError}");
        yield return new DoctorCheck(
            "CUDA devices",
            torch.CudaDevices > 0,
            Required: false,
            torch.CudaDevices > 0 ? $"{torch.CudaDevices} device(s)" : $"none visible to libtorch (backend {torch.Backend})");
        yield return new DoctorCheck(
            "libstdc++ fix",
            torch.Libstdcxx.SystemHasRequiredVersions || torch.Libstdcxx.WeakenedVersions.Count > 0,
            Required: true,
            $"{torch.Libstdcxx.Summary}; system library {torch.Libstdcxx.SystemLibrary ?? "not found"}");
    }
}

using System.Text.Json;
using VideoData.Testing.S3;

namespace VideoData.Cli.Tests.Commands;

public sealed class DoctorCommandTests : IClassFixture<S3ServerFixture>
{
    private readonly S3ServerFixture _s3;

    public DoctorCommandTests(S3ServerFixture s3) => _s3 = s3;

    [Fact]
    public async Task Doctor_ThisMachine_ReportsTheCpuPathPresent()
    {
        var result = await CliRunner.RunAsync(null, "doctor", "--json");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var checks = Checks(result.Stdout);
        Assert.StartsWith("59.", checks["libavcodec"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("59.", checks["libavformat"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("57.", checks["libavutil"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("6.", checks["libswscale"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(checks["TorchSharp"].GetProperty("ok").GetBoolean());
        Assert.Contains("backend cpu", checks["TorchSharp"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(checks["libstdc++ fix"].GetProperty("ok").GetBoolean());
        // No GPU on CI machines: the hwaccel must be reported as not available, with a reason.
        var cuda = checks["hwaccel cuda (NVDEC)"];
        if (!cuda.GetProperty("ok").GetBoolean())
        {
            Assert.False(cuda.GetProperty("required").GetBoolean());
            Assert.Contains("not available", cuda.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Contains("not configured", checks["S3"].GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_S3EndpointWithCredentials_ReachableAndSecretNeverPrinted()
    {
        const string secret = S3ServerFixture.SecretKey + "-not-printed";
        var env = new Dictionary<string, string?>
        {
            ["VIDEODATA_S3_ENDPOINT"] = _s3.Endpoint.ToString(),
            ["VIDEODATA_S3_PATH_STYLE"] = "true",
            ["VIDEODATA_S3_CHUNK_ENCODING"] = "false",
            ["VIDEODATA_S3_CHECKSUM"] = "when_required",
            ["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = secret,
        };

        var result = await CliRunner.RunAsync(env, "doctor", "--json");

        var s3 = Checks(result.Stdout)["S3"];
        Assert.Contains(_s3.Endpoint.Authority, s3.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.True(s3.GetProperty("ok").GetBoolean(), s3.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Doctor_S3EndpointDown_SaysNotReachableButCpuPathStillPasses()
    {
        var env = new Dictionary<string, string?>
        {
            ["VIDEODATA_S3_ENDPOINT"] = $"http://127.0.0.1:{S3ServerFixture.FreeLoopbackPort()}",
            ["AWS_ACCESS_KEY_ID"] = "x",
            ["AWS_SECRET_ACCESS_KEY"] = "y",
        };

        var result = await CliRunner.RunAsync(env, "doctor", "--json");

        Assert.Equal(0, result.ExitCode);
        var s3 = Checks(result.Stdout)["S3"];
        Assert.False(s3.GetProperty("ok").GetBoolean());
        Assert.Contains("not reachable", s3.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static Dictionary<string, JsonElement> Checks(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("component").GetString()!, c => c.Clone());
    }
}

using System.Text.Json;
using Amazon.S3.Model;
using VideoData.Testing.S3;

namespace VideoData.Cli.Tests.Commands;

/// <summary>
/// The standard AWS credential chain end to end, as a cluster uses it: the real program gets its S3 keys from a local STS
/// endpoint (web identity, as on EKS with a service-account role; a <c>role_arn</c> + <c>source_profile</c> profile) and
/// reads from s3rver with them. s3rver accepts only its own key pair, so a read that works proves the keys STS issued
/// were the ones used, and a read with other issued keys must fail.
/// </summary>
public sealed class CredentialChainTests : IClassFixture<S3ServerFixture>, IDisposable
{
    private readonly S3ServerFixture _s3;
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-cli-credentials-").FullName;

    public CredentialChainTests(S3ServerFixture s3) => _s3 = s3;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task ShardsPlan_WebIdentityTokenAndRole_ReadsFromS3WithTheKeysStsIssued()
    {
        await using var sts = LocalStsServer.Start();
        var manifest = await UploadManifestAsync("cred-web");
        var env = WebIdentityEnvironment(sts);

        var result = await CliRunner.RunAsync(env, "shards", "plan", "--manifest", manifest, "--shard-size", "2", "--json");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        using (var plan = JsonDocument.Parse(result.Stdout))
        {
            Assert.Equal(3, plan.RootElement.GetProperty("videos").GetInt32());
        }

        var call = Assert.Single(sts.Requests);
        Assert.Equal("AssumeRoleWithWebIdentity", call.Action);
        Assert.Equal(sts.RoleArn, call.Fields["RoleArn"]);
        Assert.Equal(sts.ExpectedToken, call.Fields["WebIdentityToken"]);
        Assert.Null(call.SignedWithAccessKey);
    }

    [Fact]
    public async Task ShardsPlan_StsIssuesKeysTheStoreRejects_FailsWithTheStoresError()
    {
        await using var sts = LocalStsServer.Start(s => s.IssuedAccessKey = "NOTS3RVERKEY");
        var manifest = await UploadManifestAsync("cred-bad");

        var result = await CliRunner.RunAsync(WebIdentityEnvironment(sts), "shards", "plan", "--manifest", manifest, "--json");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("fetch", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(sts.Requests, r => r.Action == "AssumeRoleWithWebIdentity");
    }

    [Fact]
    public async Task Doctor_WebIdentity_NamesTheSourceAndRoleNeverTheSecret()
    {
        const string secret = "sts-issued-secret-that-must-not-be-printed";
        await using var sts = LocalStsServer.Start(s => s.IssuedSecretKey = secret);

        var result = await CliRunner.RunAsync(WebIdentityEnvironment(sts), "doctor", "--json");

        var credentials = Checks(result.Stdout)["AWS credentials"];
        var detail = credentials.GetProperty("detail").GetString()!;
        Assert.True(credentials.GetProperty("ok").GetBoolean(), detail);
        Assert.StartsWith("web-identity:", detail, StringComparison.Ordinal);
        Assert.Contains(sts.RoleArn, detail, StringComparison.Ordinal);
        Assert.Contains(sts.Requests, r => r.Action == "AssumeRoleWithWebIdentity");
        foreach (var hidden in new[] { secret, sts.IssuedSessionToken, sts.ExpectedToken, sts.IssuedAccessKey })
        {
            Assert.DoesNotContain(hidden, result.Stdout + result.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ShardsPlanAndDoctor_RoleArnProfileWithSourceProfile_AssumesTheRoleSignedByTheSourceKeys()
    {
        await using var sts = LocalStsServer.Start();
        var manifest = await UploadManifestAsync("cred-profile");
        var config = Path.Combine(_folder, "config");
        File.WriteAllText(config, $"""
            [profile source]
            aws_access_key_id = {sts.SourceAccessKey}
            aws_secret_access_key = source-profile-secret

            [profile videodata]
            role_arn = {sts.RoleArn}
            source_profile = source
            region = us-east-1
            """);
        var env = S3Settings();
        env["AWS_CONFIG_FILE"] = config;
        env["AWS_PROFILE"] = "videodata";
        env["AWS_ENDPOINT_URL_STS"] = sts.Endpoint.ToString();

        var plan = await CliRunner.RunAsync(env, "shards", "plan", "--manifest", manifest, "--json");
        var callsByPlan = sts.Requests;
        var doctor = await CliRunner.RunAsync(env, "doctor", "--json");

        Assert.True(plan.ExitCode == 0, plan.Stdout + plan.Stderr);
        var call = Assert.Single(callsByPlan);
        Assert.Equal("AssumeRole", call.Action);
        Assert.Equal(sts.RoleArn, call.Fields["RoleArn"]);
        Assert.Equal(sts.SourceAccessKey, call.SignedWithAccessKey);
        var detail = Checks(doctor.Stdout)["AWS credentials"].GetProperty("detail").GetString()!;
        Assert.StartsWith("profile-assume-role:", detail, StringComparison.Ordinal);
        Assert.Contains("'videodata'", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("source-profile-secret", doctor.Stdout + doctor.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_EnvironmentKeys_NamesTheEnvironment()
    {
        var env = S3Settings();
        env["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey;
        env["AWS_SECRET_ACCESS_KEY"] = "environment-secret-not-printed";

        var result = await CliRunner.RunAsync(env, "doctor", "--json");

        var detail = Checks(result.Stdout)["AWS credentials"].GetProperty("detail").GetString()!;
        Assert.StartsWith("environment:", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("environment-secret-not-printed", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_NoCredentialsAnywhere_SaysNone()
    {
        var result = await CliRunner.RunAsync(null, "doctor", "--json");

        var credentials = Checks(result.Stdout)["AWS credentials"];
        Assert.False(credentials.GetProperty("ok").GetBoolean());
        Assert.StartsWith("none:", credentials.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, result.ExitCode);
    }

    private Dictionary<string, string?> WebIdentityEnvironment(LocalStsServer sts)
    {
        var token = Path.Combine(_folder, $"token-{Guid.NewGuid():N}");
        File.WriteAllText(token, sts.ExpectedToken);
        var env = S3Settings();
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = token;
        env["AWS_ROLE_ARN"] = sts.RoleArn;
        env["AWS_ROLE_SESSION_NAME"] = "videodata-test";
        env["AWS_ENDPOINT_URL_STS"] = sts.Endpoint.ToString();
        env["AWS_REGION"] = "us-east-1";
        return env;
    }

    /// <summary>How to reach s3rver, and no credentials: those come from the chain under test.</summary>
    private Dictionary<string, string?> S3Settings() => new()
    {
        ["VIDEODATA_S3_ENDPOINT"] = _s3.Endpoint.ToString(),
        ["VIDEODATA_S3_PATH_STYLE"] = "true",
        ["VIDEODATA_S3_CHUNK_ENCODING"] = "false",
        ["VIDEODATA_S3_CHECKSUM"] = "when_required",
    };

    private async Task<string> UploadManifestAsync(string name)
    {
        var bucket = await _s3.CreateBucketAsync(name);
        await _s3.Client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = "manifest.csv",
            ContentBody = "video_id,uri\nv1,videos/v1.mp4\nv2,videos/v2.mp4\nv3,videos/v3.mp4\n",
            UseChunkEncoding = false,
        });
        return $"s3://{bucket}/manifest.csv";
    }

    private static Dictionary<string, JsonElement> Checks(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("component").GetString()!, c => c.Clone());
    }
}

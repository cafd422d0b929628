using System.Text.Json;
using VideoData.Pipeline.Definition;
using VideoData.Testing;

namespace VideoData.Infra.Tests.Kubernetes;

/// <summary>
/// infra/k8s/preprocess-job.yaml, as shipped (CPU) and with its <c>#gpu:</c> lines uncommented: valid against the
/// Kubernetes OpenAPI schema (npm kubernetes-models through infra/k8s/validate.mjs), and the fields that decide
/// whether the pods would start and do the right work.
/// </summary>
public sealed class PreprocessJobManifestTests
{
    private static readonly string s_manifest = Path.Combine(RepoPaths.Root, "infra", "k8s", "preprocess-job.yaml");

    [Fact]
    public async Task Manifest_AsShipped_ValidCpuJobWithItsWeightsClaim()
    {
        var documents = await ValidateAsync(s_manifest);

        var claim = Assert.Single(documents, d => d.GetProperty("kind").GetString() == "PersistentVolumeClaim").GetProperty("object");
        var job = Assert.Single(documents, d => d.GetProperty("kind").GetString() == "Job").GetProperty("object");
        var spec = job.GetProperty("spec");
        Assert.Equal("Indexed", spec.GetProperty("completionMode").GetString());
        // A replacement pod only once the old one is gone: never two pods on one index.
        Assert.Equal("Failed", spec.GetProperty("podReplacementPolicy").GetString());
        Assert.Equal("Never", spec.GetProperty("template").GetProperty("spec").GetProperty("restartPolicy").GetString());

        var pod = spec.GetProperty("template").GetProperty("spec");
        var container = Assert.Single(pod.GetProperty("containers").EnumerateArray());
        AssertFullyQualified(container.GetProperty("image").GetString()!);
        var args = container.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.Equal("preprocess", args[0]);
        Assert.Equal(spec.GetProperty("completions").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), ArgumentAfter(args, "--shard-count"));
        Assert.DoesNotContain("--device", args);
        Assert.False(container.GetProperty("resources").GetProperty("limits").TryGetProperty("nvidia.com/gpu", out _));

        // The weights volume is the claim defined beside the Job, mounted where the pipeline looks for them.
        var volume = Assert.Single(pod.GetProperty("volumes").EnumerateArray());
        Assert.Equal(claim.GetProperty("metadata").GetProperty("name").GetString(), volume.GetProperty("persistentVolumeClaim").GetProperty("claimName").GetString());
        Assert.Contains("ReadOnlyMany", claim.GetProperty("spec").GetProperty("accessModes").EnumerateArray().Select(m => m.GetString()));
        var mount = Assert.Single(container.GetProperty("volumeMounts").EnumerateArray());
        Assert.Equal(volume.GetProperty("name").GetString(), mount.GetProperty("name").GetString());

        // The pipeline the pods run, with the pod's flags, asks for what the CPU image has and reads the mounted weights.
        var pipeline = LoadPipelineAsInThePod(args);
        Assert.Equal(EncoderDevice.Cpu, pipeline.Encoder.Device);
        Assert.StartsWith(mount.GetProperty("mountPath").GetString() + "/", pipeline.Encoder.Weights, StringComparison.Ordinal);

        // The pod's user is the image's non-root user.
        Assert.True(pod.GetProperty("securityContext").GetProperty("runAsNonRoot").GetBoolean());
        Assert.Contains($"USER {pod.GetProperty("securityContext").GetProperty("runAsUser").GetInt32()}:", File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "docker", "Dockerfile")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Manifest_GpuLinesUncommented_ValidJobAskingForAGpuAndCuda()
    {
        var documents = await ValidateAsync(s_manifest, "#gpu:");

        var job = Assert.Single(documents, d => d.GetProperty("kind").GetString() == "Job").GetProperty("object");
        var pod = job.GetProperty("spec").GetProperty("template").GetProperty("spec");
        var container = Assert.Single(pod.GetProperty("containers").EnumerateArray());
        Assert.Equal(1, container.GetProperty("resources").GetProperty("limits").GetProperty("nvidia.com/gpu").GetInt32());
        Assert.Contains(pod.GetProperty("tolerations").EnumerateArray(), t => t.GetProperty("key").GetString() == "nvidia.com/gpu");
        var args = container.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.Equal("cuda", ArgumentAfter(args, "--device"));
        Assert.Equal(EncoderDevice.Cuda, LoadPipelineAsInThePod(args).Encoder.Device);
    }

    [Fact]
    public async Task WeightsLoader_ValidPodMountingTheJobsClaimWritableAsTheImageUser()
    {
        var job = (await ValidateAsync(s_manifest)).Single(d => d.GetProperty("kind").GetString() == "Job").GetProperty("object");
        var loader = Assert.Single(await ValidateAsync(Path.Combine(RepoPaths.Root, "infra", "k8s", "weights-loader.yaml"))).GetProperty("object");

        Assert.Equal("Pod", loader.GetProperty("kind").GetString());
        var jobPod = job.GetProperty("spec").GetProperty("template").GetProperty("spec");
        var claim = Assert.Single(loader.GetProperty("spec").GetProperty("volumes").EnumerateArray()).GetProperty("persistentVolumeClaim");
        Assert.Equal(Assert.Single(jobPod.GetProperty("volumes").EnumerateArray()).GetProperty("persistentVolumeClaim").GetProperty("claimName").GetString(), claim.GetProperty("claimName").GetString());
        Assert.False(claim.TryGetProperty("readOnly", out var readOnly) && readOnly.GetBoolean());
        Assert.Equal(jobPod.GetProperty("securityContext").GetProperty("runAsUser").GetInt32(), loader.GetProperty("spec").GetProperty("securityContext").GetProperty("fsGroup").GetInt32());
        Assert.Equal(
            Assert.Single(jobPod.GetProperty("containers").EnumerateArray()).GetProperty("image").GetString(),
            Assert.Single(loader.GetProperty("spec").GetProperty("containers").EnumerateArray()).GetProperty("image").GetString());
    }

    [Fact]
    public async Task Validator_WrongTypeInAJob_FailsNamingTheField()
    {
        var broken = Path.Combine(Directory.CreateTempSubdirectory("videodata-k8s-").FullName, "broken.yaml");
        await File.WriteAllTextAsync(broken, File.ReadAllText(s_manifest).Replace("completions: 64", "completions: sixty-four", StringComparison.Ordinal));
        try
        {
            var result = await RunValidatorAsync(broken);
            Assert.Equal(1, result.ExitCode);
            var job = Assert.Single(JsonDocument.Parse(result.Stdout).RootElement.EnumerateArray(), d => d.GetProperty("kind").GetString() == "Job");
            Assert.Contains(job.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains("spec/completions must be integer", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(broken)!, recursive: true);
        }
    }

    /// <summary>A name with a registry host, so a runtime never looks it up on Docker Hub by default.</summary>
    private static void AssertFullyQualified(string image)
    {
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        Assert.True(slash > 0, $"image '{image}' has no registry host");
        var host = image[..slash];
        Assert.True(host.Contains('.', StringComparison.Ordinal) || host.Contains(':', StringComparison.Ordinal) || host == "localhost", $"image '{image}' starts with '{host}', which is not a registry host");
        Assert.NotEqual("docker.io", host);
        Assert.DoesNotContain(":latest", image, StringComparison.Ordinal);
    }

    private static string? ArgumentAfter(List<string> args, string flag)
    {
        var at = args.IndexOf(flag);
        return at >= 0 && at + 1 < args.Count ? args[at + 1] : null;
    }

    /// <summary>Loads the repository's copy of the pipeline file the pod names (/app/pipelines/X) with the pod's --device.</summary>
    private static PipelineDefinition LoadPipelineAsInThePod(List<string> args)
    {
        var inImage = ArgumentAfter(args, "--pipeline")!;
        Assert.StartsWith("/app/pipelines/", inImage, StringComparison.Ordinal);
        var overrides = ArgumentAfter(args, "--device") is { } device ? new[] { $"encoder.device=\"{device}\"" } : [];
        return PipelineDefinitionLoader.Load(Path.Combine(RepoPaths.Root, "pipelines", Path.GetFileName(inImage)), overrides);
    }

    private static async Task<List<JsonElement>> ValidateAsync(string file, string? uncomment = null)
    {
        var result = await RunValidatorAsync(file, uncomment);
        Assert.True(result.ExitCode == 0, result.Output);
        var documents = JsonDocument.Parse(result.Stdout).RootElement.EnumerateArray().ToList();
        Assert.All(documents, d => Assert.Empty(d.GetProperty("errors").EnumerateArray()));
        return documents;
    }

    private static Task<ProcessRunner.Result> RunValidatorAsync(string file, string? uncomment = null)
    {
        var script = Path.Combine(RepoPaths.Root, "infra", "k8s", "validate.mjs");
        string[] arguments = uncomment is null ? [script, file] : [script, "--uncomment", uncomment, file];
        return ProcessRunner.RunAsync("node", arguments, RepoPaths.Root, TimeSpan.FromMinutes(2), new Dictionary<string, string?> { ["VIDEODATA_TOOLS_MODULES"] = RepoPaths.ToolsNodeModules });
    }
}

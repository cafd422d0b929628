using VideoData.Testing;

namespace VideoData.Infra.Tests.Docker;

/// <summary>
/// The container image's files, read as a builder would (the image itself is built and run by
/// infra/docker/build-and-check.sh, which is too slow for the test suite).
/// </summary>
public sealed class ContainerImageFilesTests
{
    private static readonly string[] s_dockerfile = File.ReadAllLines(Path.Combine(RepoPaths.Root, "infra", "docker", "Dockerfile"));

    [Fact]
    public void Dockerfile_BaseImage_IsABuildArgumentDefaultingToAFullyQualifiedDebian12Image()
    {
        var argument = Assert.Single(s_dockerfile, l => l.StartsWith("ARG BASE_IMAGE=", StringComparison.Ordinal));
        Assert.Equal("ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim", argument);
        Assert.Equal(["FROM ${BASE_IMAGE}"], s_dockerfile.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Dockerfile_RunsAsANonRootUserAndInstallsOnlyTheRuntimeLibraries()
    {
        var user = Assert.Single(s_dockerfile, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotContain("root", user, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"^USER 0\b", user);
        var install = string.Join(' ', s_dockerfile.SkipWhile(l => !l.Contains("apt-get install", StringComparison.Ordinal)).TakeWhile(l => !l.Contains("rm -rf", StringComparison.Ordinal)));
        foreach (var package in new[] { "libavformat59", "libavcodec59", "libavutil57", "libswscale6", "libgomp1" })
        {
            Assert.Contains(package, install, StringComparison.Ordinal);
        }

        Assert.Contains("--no-install-recommends", install, StringComparison.Ordinal);
        // The ffmpeg program (only `videodata demo` needs it) comes in through the FFMPEG_CLI switch alone.
        Assert.DoesNotContain(" ffmpeg ", install + " ", StringComparison.Ordinal);
        Assert.Contains("ARG FFMPEG_CLI=yes", s_dockerfile);
        Assert.DoesNotContain("dotnet", install, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildScript_PublishesSelfContainedForLinuxX64Only_AndTheContextHoldsOnlyThatAndThePipelines()
    {
        var script = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "docker", "build-and-check.sh"));
        Assert.Contains("dotnet publish src/VideoData.Cli -c Release -r linux-x64 --self-contained -o artifacts/publish/linux-x64", script, StringComparison.Ordinal);
        Assert.Contains("COPY artifacts/publish/linux-x64/ /app/", s_dockerfile);
        var ignore = File.ReadAllLines(Path.Combine(RepoPaths.Root, ".dockerignore")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Equal(["*", "!artifacts/publish/linux-x64/", "!pipelines/"], ignore);
    }
}

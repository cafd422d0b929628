using VideoData.Cli.Commands;
using VideoData.Core.Failures;
using VideoData.Pipeline.Definition;
using VideoData.Storage.Blobs;
using VideoData.Storage.Manifests;

namespace VideoData.Cli.Tests.Commands;

public sealed class CommandFailuresTests
{
    public static TheoryData<Exception> UserFailures() =>
    [
        new PipelineDefinitionException("Pipeline field 'decode.fps' = 0 is invalid"),
        new VideoDataException(FailureClass.Decode, "video 'a': corrupt"),
        new NativeDependencyException("libtorch could not be loaded"),
        new ManifestException("m.csv", [], 0),
        new BlobStoreException("s3://b/k", "403"),
        new FileNotFoundException("missing"),
        new UnauthorizedAccessException("denied"),
        new ArgumentException("bad flag"),
        new FormatException("bad number"),
        new InvalidDataException("not parquet"),
        new KeyNotFoundException("no such video"),
        new NotSupportedException("not built"),
    ];

    [Theory]
    [MemberData(nameof(UserFailures))]
    public void IsInputFailure_FailuresTheUserCanActOn_AreReportedInOneLine(Exception failure)
    {
        Assert.True(CommandFailures.IsInputFailure(failure));
    }

    [Fact]
    public void IsInputFailure_Bugs_Propagate()
    {
        Assert.False(CommandFailures.IsInputFailure(new InvalidOperationException("state")));
        Assert.False(CommandFailures.IsInputFailure(new NullReferenceException()));
        Assert.False(CommandFailures.IsInputFailure(new OperationCanceledException()));
    }

    [Fact]
    public void UserFacingFailures_CarryTheirClassAndInput()
    {
        Assert.Equal("decode", new VideoDataException(FailureClass.Decode, "x").FailureClassName);
        Assert.Equal("config", new PipelineDefinitionException("x").FailureClassName);
        Assert.Equal("environment", new NativeDependencyException("x").FailureClassName);
        var manifest = new ManifestException("corpus/m.csv", [], 0);
        Assert.Equal(("manifest", "corpus/m.csv"), (manifest.FailureClassName, manifest.Input));
    }
}

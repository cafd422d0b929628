namespace VideoData.Features.Tests;

/// <summary>Tests that run libtorch share its global thread pool and settings, so they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "torch";
}

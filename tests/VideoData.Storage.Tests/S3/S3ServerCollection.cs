using VideoData.Testing.S3;

namespace VideoData.Storage.Tests.S3;

/// <summary>One s3rver for every S3 test class; each test makes its own bucket.</summary>
[CollectionDefinition(Name)]
public sealed class S3ServerCollection : ICollectionFixture<S3ServerFixture>
{
    public const string Name = "s3rver";
}

using VideoData.Shards;
using VideoData.Training.Alignment;
using VideoData.Training.Data;

namespace VideoData.Training.Tests.Alignment;

/// <summary>Small hand-made videos and tables for the alignment tests.</summary>
internal static class AlignmentTestData
{
    public const int FeatureDim = 4;

    /// <summary>A 20-second video whose feature row s is filled with s, and four segments whose tokens name them (200+i; ids 101 and 102 are [CLS] and [SEP]).</summary>
    public static VideoRecord Video(string id = "v")
    {
        var features = new float[20 * FeatureDim];
        for (var s = 0; s < 20; s++)
        {
            features.AsSpan(s * FeatureDim, FeatureDim).Fill(s);
        }

        CaptionSegment[] segments =
        [
            new(1.0, 3.5, [200, 200, 200]),
            new(4.0, 6.0, [201, 201]),
            new(7.2, 9.9, [202, 202, 202, 202]),
            new(12.0, 15.0, [203]),
        ];
        return new VideoRecord(id, FeatureDim, features, segments);
    }

    /// <summary>A table for <see cref="Video"/>: segment 0 moved +10 s, segment 1 dropped, 2 and 3 kept in place.</summary>
    public static AlignmentTable Table(string id = "v") => new(
        new AlignmentLineage("ckpt/step-7", 2, 8, 0.3),
        [
            new AlignedSegment(id, 0, 1.0, 3.5, 11.0, 13.5, 0.71, true),
            new AlignedSegment(id, 1, 4.0, 6.0, 3.0, 5.0, 0.12, false),
            new AlignedSegment(id, 2, 7.2, 9.9, 7.2, 9.9, 0.55, true),
            new AlignedSegment(id, 3, 12.0, 15.0, 12.0, 15.0, 0.40, true),
        ]);
}

using VideoData.Shards;
using VideoData.Training.Data;
using VideoData.Training.Sampling;

namespace VideoData.Training.Tests.Sampling;

public sealed class OverlappedClipSamplerTests
{
    private static readonly ClipSamplerOptions s_options = new() { FeatureDim = 8 };

    /// <summary>Videos of awkward shapes: shorter than 3 s, captions past the end, one segment, empty and zero-length segments, long silences, very long videos.</summary>
    internal static IReadOnlyList<VideoRecord> AwkwardVideos(int featureDim = 8)
    {
        var videos = new List<VideoRecord>();
        var rng = DeterministicRandom.For(99, 0, "test.videos", string.Empty);
        for (var i = 0; i < 60; i++)
        {
            var seconds = i switch
            {
                0 => 1,
                1 => 2,
                2 => 3,
                3 => 600,
                _ => rng.NextInt(1, 200),
            };
            var segments = new List<CaptionSegment>();
            var count = i == 4 ? 1 : rng.NextInt(1, 40);
            var t = rng.NextDouble() * 5;
            for (var s = 0; s < count; s++)
            {
                var length = s % 7 == 3 ? 0 : rng.NextDouble() * (i == 5 ? 120 : 8);
                var tokens = Enumerable.Range(0, s % 5 == 2 ? 0 : rng.NextInt(1, 32)).Select(k => 1000 + (i * 100) + s + k).ToArray();
                segments.Add(new CaptionSegment(t, t + length, tokens));
                t += length + (rng.NextDouble() * (i == 6 ? 60 : 2));
            }

            var features = new float[seconds * featureDim];
            for (var k = 0; k < features.Length; k++)
            {
                features[k] = (i * 1000) + (k / featureDim) + ((k % featureDim) / 100f);
            }

            videos.Add(new VideoRecord($"v{i:D3}", featureDim, features, segments));
        }

        return videos;
    }

    [Fact]
    public void Sample_SameSeedEpochVideo_SameClips_OtherEpoch_OtherClips()
    {
        var sampler = new OverlappedClipSampler(s_options);
        var video = AwkwardVideos()[3];
        var a = sampler.Sample(video, seed: 5, epoch: 2);
        var b = new OverlappedClipSampler(s_options).Sample(video, seed: 5, epoch: 2);
        Assert.Equal(a, b);
        Assert.Equal(16, a.Length);
        Assert.NotEqual(a, sampler.Sample(video, seed: 5, epoch: 3));
        Assert.NotEqual(a, sampler.Sample(video, seed: 6, epoch: 2));
    }

    [Fact]
    public void Sample_EveryClipOfAwkwardVideos_HoldsTheReferenceProperties()
    {
        var sampler = new OverlappedClipSampler(s_options);
        var o = sampler.Options;
        var caps = new long[o.CaptionLength];
        var cmasks = new bool[o.CaptionLength];
        var vfeats = new float[o.MaxVideoTokens * o.FeatureDim];
        var vmasks = new bool[o.MaxVideoTokens];
        var lengths = new HashSet<int>();
        foreach (var video in AwkwardVideos())
        {
            for (var epoch = 0; epoch < 4; epoch++)
            {
                foreach (var clip in sampler.Sample(video, 1, epoch))
                {
                    CheckClip(o, video, clip);
                    CheckCaption(o, video, clip, caps, cmasks, sampler.WriteCaption(video, clip, caps, cmasks));
                    CheckVideo(o, video, clip, vfeats, vmasks, sampler.WriteVideo(video, clip, vfeats, vmasks));
                    if (video.Seconds >= 40)
                    {
                        lengths.Add(clip.VideoLength);
                    }
                }
            }
        }

        // Long videos see every length the sampler may draw.
        Assert.Equal(Enumerable.Range(3, 30), lengths.Order());
    }

    private static void CheckClip(ClipSamplerOptions o, VideoRecord video, ClipSpan clip)
    {
        var seconds = video.Seconds;
        var segments = video.Segments;
        Assert.InRange(clip.VideoStart, 0, seconds - 1);
        Assert.InRange(clip.VideoEnd, clip.VideoStart + 1, seconds);
        Assert.True(
            clip.VideoLength == seconds || (clip.VideoLength >= o.MinVideoSeconds && clip.VideoLength <= o.MaxVideoSeconds),
            $"{video.VideoId}: video length {clip.VideoLength} is neither in [{o.MinVideoSeconds}, {o.MaxVideoSeconds}] nor the whole {seconds} s");
        Assert.InRange(clip.TextStart, 0, segments.Count - 1);
        Assert.InRange(clip.TextEnd, clip.TextStart + 1, segments.Count);

        // Text grows only while under budget and under the time limit: without its last-added segment (first
        // or last of the span) the span was under both limits.
        if (clip.TextEnd - clip.TextStart > 1)
        {
            var withoutFirst = Tokens(video, clip.TextStart + 1, clip.TextEnd);
            var withoutLast = Tokens(video, clip.TextStart, clip.TextEnd - 1);
            Assert.True(Math.Min(withoutFirst, withoutLast) < o.MaxTextTokens, $"{video.VideoId}: text span {clip} exceeds the budget by more than one segment");
            var spanWithoutFirst = segments[clip.TextEnd - 1].End - segments[clip.TextStart + 1].Start;
            var spanWithoutLast = segments[clip.TextEnd - 2].End - segments[clip.TextStart].Start;
            Assert.True(Math.Min(spanWithoutFirst, spanWithoutLast) < o.MaxTextSpanSeconds, $"{video.VideoId}: text span {clip} exceeds 256 s by more than one segment");
        }

        // The video grew around a center drawn from the text span's seconds (clamped to the video).
        var low = Math.Clamp((int)Math.Floor(segments[clip.TextStart].Start), 0, seconds - 1);
        var high = Math.Clamp((int)Math.Ceiling(segments[clip.TextEnd - 1].End), 0, seconds - 1);
        Assert.True(
            Math.Max(clip.VideoStart, Math.Min(low, high)) <= Math.Min(clip.VideoEnd, Math.Max(low, high)),
            $"{video.VideoId}: video span [{clip.VideoStart}, {clip.VideoEnd}) does not touch the text seconds [{low}, {high}]");
    }

    private static void CheckCaption(ClipSamplerOptions o, VideoRecord video, ClipSpan clip, long[] caps, bool[] cmasks, int used)
    {
        var text = Enumerable.Range(clip.TextStart, clip.TextEnd - clip.TextStart).SelectMany(s => video.Segments[s].TokenIds).Take(o.CaptionTextTokens).Select(t => (long)t).ToList();
        Assert.Equal(text.Count + 3, used);
        Assert.Equal(101, caps[0]);
        Assert.Equal(102, caps[1]);
        Assert.Equal(text, caps[2..(2 + text.Count)]);
        Assert.Equal(102, caps[2 + text.Count]);
        Assert.All(caps[used..], id => Assert.Equal(0, id));
        for (var i = 0; i < caps.Length; i++)
        {
            Assert.Equal(i < used, cmasks[i]);
        }
    }

    private static void CheckVideo(ClipSamplerOptions o, VideoRecord video, ClipSpan clip, float[] vfeats, bool[] vmasks, int rows)
    {
        Assert.Equal(Math.Min(o.MaxVideoTokens, clip.VideoLength), rows);
        for (var r = 0; r < o.MaxVideoTokens; r++)
        {
            Assert.Equal(r < rows, vmasks[r]);
            var row = vfeats.AsSpan(r * o.FeatureDim, o.FeatureDim);
            if (r < rows)
            {
                Assert.True(row.SequenceEqual(video.Features.AsSpan((clip.VideoStart + r) * o.FeatureDim, o.FeatureDim)));
            }
            else
            {
                Assert.True(row.IndexOfAnyExcept(0f) < 0);
            }
        }
    }

    private static int Tokens(VideoRecord video, int from, int to) =>
        Enumerable.Range(from, to - from).Sum(s => video.Segments[s].TokenIds.Length);

    [Fact]
    public void Sample_TextSpan_UsesBothDirectionsAndStopsAtBudget()
    {
        // 100 one-second segments of 4 tokens: a budget b is reached after ceil(b/4) segments, never more.
        var segments = Enumerable.Range(0, 100).Select(i => new CaptionSegment(i, i + 1, [1000 + (4 * i), 1001 + (4 * i), 1002 + (4 * i), 1003 + (4 * i)])).ToList();
        var video = new VideoRecord("grid", 8, new float[100 * 8], segments);
        var sampler = new OverlappedClipSampler(s_options with { ClipsPerVideo = 64 });
        var leftOfCenter = 0;
        var rightOfCenter = 0;
        foreach (var clip in Enumerable.Range(0, 20).SelectMany(e => sampler.Sample(video, 3, e)))
        {
            var count = clip.TextEnd - clip.TextStart;
            Assert.InRange(count, 2, 16);
            leftOfCenter += clip.TextStart > 0 ? 1 : 0;
            rightOfCenter += clip.TextEnd < 100 ? 1 : 0;
        }

        Assert.True(leftOfCenter > 0 && rightOfCenter > 0);
    }

    [Fact]
    public void Sample_VideoWithoutCaptions_ThrowsNamingTheVideo()
    {
        var sampler = new OverlappedClipSampler(s_options);
        var ex = Assert.Throws<InvalidDataException>(() => sampler.Sample(new VideoRecord("silent", 8, new float[80], []), 0, 0));
        Assert.Contains("silent", ex.Message, StringComparison.Ordinal);
        var noFeatures = Assert.Throws<InvalidDataException>(() => sampler.Sample(new VideoRecord("empty", 8, [], [new CaptionSegment(0, 1, [5])]), 0, 0));
        Assert.Contains("empty", noFeatures.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ClipsPerVideo")]
    [InlineData("MaxTextTokens")]
    [InlineData("MaxVideoSeconds")]
    [InlineData("CaptionLength")]
    public void Options_OutOfRange_NameTheOption(string option)
    {
        var bad = option switch
        {
            "ClipsPerVideo" => s_options with { ClipsPerVideo = 0 },
            "MaxTextTokens" => s_options with { MaxTextTokens = 4 },
            "MaxVideoSeconds" => s_options with { MaxVideoSeconds = 2 },
            _ => s_options with { CaptionLength = 3 },
        };
        var ex = Assert.Throws<ArgumentException>(() => new OverlappedClipSampler(bad));
        Assert.Contains(option, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Aligned_VideoSpanIsTheTextSeconds()
    {
        var sampler = new OverlappedClipSampler(s_options);
        foreach (var video in AwkwardVideos())
        {
            foreach (var clip in sampler.Sample(video, 0, 0, ClipAlignment.Aligned))
            {
                var end = Math.Clamp((int)Math.Ceiling(video.Segments[clip.TextEnd - 1].End), 1, video.Seconds);
                Assert.Equal(end, clip.VideoEnd);
                Assert.Equal(Math.Clamp((int)Math.Floor(video.Segments[clip.TextStart].Start), 0, end - 1), clip.VideoStart);
            }
        }
    }
}

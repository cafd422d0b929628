using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Sampling;

[Collection("TorchSharp training")]
public sealed class TokenDropoutTests
{
    private static readonly BatchStreamerOptions s_options = new() { Sampler = new ClipSamplerOptions { FeatureDim = 8, ClipsPerVideo = 4 }, TokenDropout = 0.5 };

    [Theory]
    [InlineData(32, 0.5, 16)]
    [InlineData(3, 0.5, 2)]
    [InlineData(1, 0.5, 1)]
    [InlineData(5, 0.99, 1)]
    [InlineData(10, 0.0, 10)]
    [InlineData(0, 0.5, 0)]
    public void KeptTokens_DropsTheFloorOfTheFractionAndKeepsAtLeastOne(int rows, double p, int kept) =>
        Assert.Equal(kept, TokenDropout.KeptTokens(rows, p));

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void Options_FractionOutsideZeroToOne_IsRefusedByName(double p)
    {
        var ex = Assert.Throws<ArgumentException>(() => (s_options with { TokenDropout = p }).Validate());
        Assert.Contains("token_dropout", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_KeepsOrderAndCountAndRepeatsForTheSameKey()
    {
        var seen = new int[32];
        for (var clip = 0; clip < 200; clip++)
        {
            var a = TokenDropout.Choose(32, 0.5, TokenDropout.Random(7, 1, $"v{clip}"));
            var b = TokenDropout.Choose(32, 0.5, TokenDropout.Random(7, 1, $"v{clip}"));
            Assert.Equal(a, b);
            Assert.Equal(16, a.Length);
            Assert.True(a.Zip(a.Skip(1)).All(p => p.First < p.Second), "kept rows must be strictly ascending");
            Assert.All(a, r => Assert.InRange(r, 0, 31));
            foreach (var r in a)
            {
                seen[r]++;
            }
        }

        // Every position is dropped and kept sometimes: 100 expected each, far from 0 and 200.
        Assert.All(seen, n => Assert.InRange(n, 50, 150));
        Assert.NotEqual(TokenDropout.Choose(32, 0.5, TokenDropout.Random(7, 1, "v0")), TokenDropout.Choose(32, 0.5, TokenDropout.Random(7, 2, "v0")));
    }

    [Fact]
    public async Task StreamAsync_WithTokenDropout_KeepsOrderedRealSecondsWithTheirPositions()
    {
        var videos = OverlappedClipSamplerTests.AwkwardVideos();
        var store = new InMemoryVideoStore(videos);
        var plan = BatchPlan.Shuffled(store.VideoIds, 8, 1, 3);
        var first = new List<(float[] Feats, bool[] Masks, long[] Positions)>();
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, s_options))
        {
            using (batch)
            {
                var n = batch.ClipCount;
                Assert.Equal([n, 16, 8], batch.Vfeats.shape);
                Assert.Equal([n, 16], batch.Vmasks.shape);
                Assert.NotNull(batch.Vpositions);
                Assert.Equal([n, 16], batch.Vpositions!.shape);
                var feats = batch.Vfeats.data<float>().ToArray();
                var masks = batch.Vmasks.data<bool>().ToArray();
                var positions = batch.Vpositions.data<long>().ToArray();
                first.Add((feats, masks, positions));
                for (var c = 0; c < n; c++)
                {
                    var span = batch.Spans[c];
                    var video = videos.First(v => v.VideoId == batch.VideoIds[c]);
                    var kept = masks.Skip(c * 16).Take(16).Count(m => m);
                    Assert.Equal(TokenDropout.KeptTokens(Math.Min(32, span.VideoLength), 0.5), kept);
                    Assert.True(masks.Skip(c * 16).Take(kept).All(m => m), "kept rows come first");
                    var clipPositions = positions.Skip(c * 16).Take(kept).ToArray();
                    Assert.True(clipPositions.Zip(clipPositions.Skip(1)).All(p => p.First < p.Second), "positions keep the clip's order");
                    for (var j = 0; j < kept; j++)
                    {
                        // The row is the feature row of second VideoStart + position.
                        Assert.Equal(video.Features[(span.VideoStart + (int)clipPositions[j]) * 8], feats[((c * 16) + j) * 8]);
                    }

                    Assert.All(feats.Skip(((c * 16) + kept) * 8).Take((16 - kept) * 8), v => Assert.Equal(0f, v));
                }
            }
        }

        var i = 0;
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, s_options with { Assemblers = 3 }))
        {
            using (batch)
            {
                Assert.Equal(first[i].Feats, batch.Vfeats.data<float>().ToArray());
                Assert.Equal(first[i].Positions, batch.Vpositions!.data<long>().ToArray());
                i++;
            }
        }

        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, s_options with { TokenDropout = 0 }))
        {
            using (batch)
            {
                Assert.Null(batch.Vpositions);
                Assert.Equal(32, batch.Vfeats.shape[1]);
            }
        }
    }

    [Fact]
    public void EncodeVideo_ConsumesTheMaskAndThePositions()
    {
        random.manual_seed(11);
        using var model = new VideoClipModel(VideoClipModelOptions.Tiny with { FeatureDim = 8, MaxVideoTokens = 32 });
        model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var full = randn(2, 32, 8);
        var fullMask = zeros(2, 32, ScalarType.Bool);
        fullMask[.., ..5] = tensor(true);

        // The dropped layout: rows 0, 2, 4 of the clip in the first three slots of a width-4 tensor.
        var kept = tensor(new long[] { 0, 2, 4 });
        var dropped = zeros(2, 4, 8);
        dropped[.., ..3] = full.index_select(1, kept);
        var mask = zeros(2, 4, ScalarType.Bool);
        mask[.., ..3] = tensor(true);
        var positions = zeros(2, 4, ScalarType.Int64);
        positions[.., ..3] = kept.unsqueeze(0).expand(2, 3);

        var a = model.EncodeVideo(dropped, mask, positions);
        // Whatever sits in the unmasked slot does not reach the output.
        var garbage = dropped.clone();
        garbage[.., 3] = full_like(garbage[.., 3], 1000f);
        var b = model.EncodeVideo(garbage, mask, positions);
        Assert.True(a.allclose(b, rtol: 1e-5, atol: 1e-6));

        // The same kept rows at other positions give another vector: the model reads the positions.
        var shifted = positions.clone();
        shifted[.., ..3] = tensor(new long[] { 10, 12, 14 }).unsqueeze(0).expand(2, 3);
        Assert.False(a.allclose(model.EncodeVideo(dropped, mask, shifted), rtol: 1e-3, atol: 1e-4));

        // Positions 0..k−1 on a narrow tensor equal the full-width layout (what the aligner relies on).
        var narrow = full.narrow(1, 0, 5);
        var narrowPositions = arange(5, ScalarType.Int64).unsqueeze(0).expand(2, 5);
        var wide = model.EncodeVideo(full, fullMask);
        Assert.True(wide.allclose(model.EncodeVideo(narrow, ones(2, 5, ScalarType.Bool), narrowPositions), rtol: 1e-4, atol: 1e-5));
    }
}

// Driver for infra/bench/align.sh.
//   AlignBench CONFIG OUTPUT EPOCHS SHIFT_FRACTION UNRELATED_FRACTION TOKEN_DROPOUT SEEDS STEP_REPEATS
// Trains the config's model on its synthetic corpus with SHIFT_FRACTION of the training caption segments moved 2–6 s
// and UNRELATED_FRACTION replaced by unrelated words (held-out captions stay true), three ways, from the same seed:
//   plain      no alignment, no token dropout (the reference behaviour)
//   aligned    captions re-aligned with the current model before every epoch ≥ 1 (alignment.every = 1)
//   dropout    token dropout TOKEN_DROPOUT, no alignment
// and aligns the training captions with the plain and aligned runs' final models to measure, against the truth:
// the fraction of shifted segments whose offset is recovered within ±1 s, the fraction of true segments left within
// ±1 s, and the ROC AUC of the alignability score for related vs unrelated segments. Each run is repeated for run seeds
// 0..SEEDS-1 (same corpus) and the figures are averaged. Step time is measured apart from training, side by side: the
// same model takes forward + backward steps on batches assembled with and without token dropout, alternating, each
// STEP_REPEATS times, and the medians are compared. Prints RESULT lines.
using System.Diagnostics;
using System.Globalization;
using VideoData.Training.Alignment;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Trainer;

var config = TrainConfig.Load(args[0]);
var output = args[1];
var epochs = int.Parse(args[2], CultureInfo.InvariantCulture);
var shift = double.Parse(args[3], CultureInfo.InvariantCulture);
var unrelated = double.Parse(args[4], CultureInfo.InvariantCulture);
var dropout = double.Parse(args[5], CultureInfo.InvariantCulture);
var seeds = int.Parse(args[6], CultureInfo.InvariantCulture);
var stepRepeats = int.Parse(args[7], CultureInfo.InvariantCulture);

config = config with
{
    Epochs = epochs,
    Data = config.Data with { Synthetic = config.Data.Synthetic with { ShiftFraction = shift, UnrelatedFraction = unrelated } },
    Checkpoint = config.Checkpoint with { EverySteps = 0, Keep = 1 },
};
var featureDim = config.Model.ToOptions().FeatureDim;
var corpus = SyntheticCorpus.GenerateWithTruth(config.Data.Synthetic.ToOptions(featureDim, heldOut: false));
var train = new InMemoryVideoStore(corpus.Videos);
var heldOut = new InMemoryVideoStore(SyntheticCorpus.Generate(config.Data.Synthetic.ToOptions(featureDim, heldOut: true)));
var kinds = corpus.Truth.GroupBy(t => t.Kind).ToDictionary(g => g.Key, g => g.Count());
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"corpus: {train.VideoIds.Count} training videos, {corpus.Truth.Count} segments ({string.Join(", ", kinds.Select(k => $"{k.Value} {k.Key}"))}), {heldOut.VideoIds.Count} held-out videos with true captions"));

var runs = new List<Run>();
for (var seed = 0; seed < seeds; seed++)
{
    var seeded = config with { Seed = seed };
    runs.Add(await RunAsync("plain", seeded, tokenDropout: 0));
    runs.Add(await RunAsync("aligned", seeded with { Alignment = seeded.Alignment with { Enabled = true, Every = 1 } }, tokenDropout: 0));
    runs.Add(await RunAsync("dropout", seeded with { Streamer = seeded.Streamer with { TokenDropout = dropout } }, tokenDropout: dropout));
}

foreach (var group in runs.GroupBy(r => r.Name))
{
    var r1 = group.Select(r => r.RecallAt1).ToArray();
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"RESULT run={group.Key} seeds={r1.Length} r1_mean={r1.Average():F4} r1_each={string.Join('/', r1.Select(x => x.ToString("F4", CultureInfo.InvariantCulture)))} r5_mean={group.Average(r => r.RecallAt5):F4} train_step_ms_mean={group.Average(r => r.StepMs):F1} total_s_mean={group.Average(r => r.TrainSeconds):F1}"));
}

foreach (var group in runs.Where(r => r.Measure is not null).GroupBy(r => r.Name))
{
    var m = group.Select(r => r.Measure!).ToList();
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"RESULT align_model={group.Key} seeds={m.Count} window={m[0].Window} shifted={m[0].Shifted} recovered_1s={m.Average(x => x.Recovered):F4} chance_1s={m[0].Chance:F4} "
        + $"true_kept_in_place_1s={m.Average(x => x.InPlace):F4} auc_related_vs_unrelated={m.Average(x => x.Auc):F4} kept_related={m.Average(x => x.KeptRelated):F4} "
        + $"kept_unrelated={m.Average(x => x.KeptUnrelated):F4} align_s={m.Average(x => x.Seconds):F1}"));
}

var (noneMs, droppedMs) = await StepTimesAsync(config, dropout, stepRepeats);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT step_time token_dropout=0 median_ms={noneMs:F1} token_dropout={dropout} median_ms={droppedMs:F1} ratio={noneMs / droppedMs:F2}"));

return 0;

async Task<Run> RunAsync(string name, TrainConfig runConfig, double tokenDropout)
{
    var folder = Path.Combine(output, name);
    if (Directory.Exists(folder))
    {
        Directory.Delete(folder, recursive: true);
    }

    runConfig = runConfig with { Output = folder };
    var options = runConfig.ToTrainerOptions();
    var (planner, store) = EpochPlannerFactory.CreateForTraining(runConfig, train);
    var observer = new Observer();
    var clock = Stopwatch.StartNew();
    using var trainer = VideoClipTrainer.Create(options, store, heldOut, planner, observer);
    var reports = await trainer.RunAsync();
    var total = clock.Elapsed.TotalSeconds;
    var stepSeconds = observer.Steps.Sum(s => (s.StepTime - s.DataWait).TotalSeconds);
    foreach (var e in reports)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: epoch {e.Epoch}: loss {e.MeanLoss:F3}, held-out R@1 {e.RecallAt1:P1}"));
    }

    Measure? measure = null;
    if (tokenDropout == 0)
    {
        measure = await MeasureAsync(trainer.Model, runConfig, options);
    }

    return new Run(name, tokenDropout, reports[^1].RecallAt1 ?? double.NaN, reports[^1].RecallAt5 ?? double.NaN, 1000 * stepSeconds / observer.Steps.Count, observer.Steps.Count, total, measure);
}

async Task<Measure> MeasureAsync(VideoClipModel model, TrainConfig runConfig, TrainerOptions options)
{
    var alignmentOptions = runConfig.Alignment.ToOptions().Alignment;
    var clock = Stopwatch.StartNew();
    var table = await CaptionAligner.AlignAsync(train, model, options.Streamer.Sampler, alignmentOptions, "bench", null);
    var seconds = clock.Elapsed.TotalSeconds;
    var truth = corpus.Truth.ToDictionary(t => (t.VideoId, t.Segment));
    var rows = table.Segments.Select(r => (Row: r, Truth: truth[(r.VideoId, r.Segment)])).ToList();
    var shifted = rows.Where(r => r.Truth.Kind == SyntheticSegmentKind.Shifted).ToList();
    var recovered = shifted.Count(r => Math.Abs(r.Row.OffsetSeconds + r.Truth.OffsetSeconds) <= 1.0 + 1e-9);
    var trueOnes = rows.Where(r => r.Truth.Kind == SyntheticSegmentKind.Aligned).ToList();
    var inPlace = trueOnes.Count(r => Math.Abs(r.Row.OffsetSeconds) <= 1.0 + 1e-9);
    var related = rows.Where(r => r.Truth.Kind != SyntheticSegmentKind.Unrelated).Select(r => r.Row).ToList();
    var unrelatedRows = rows.Where(r => r.Truth.Kind == SyntheticSegmentKind.Unrelated).Select(r => r.Row).ToList();
    var window = alignmentOptions.WindowSeconds;
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"scores: related p10/p50/p90 {Quantiles(related.Select(r => r.Score))}, unrelated {Quantiles(unrelatedRows.Select(r => r.Score))}"));
    return new Measure(
        window,
        shifted.Count,
        shifted.Count == 0 ? double.NaN : (double)recovered / shifted.Count,
        3.0 / ((2 * window) + 1),
        trueOnes.Count == 0 ? double.NaN : (double)inPlace / trueOnes.Count,
        Auc(related.Select(r => r.Score).ToList(), unrelatedRows.Select(r => r.Score).ToList()),
        related.Count == 0 ? double.NaN : related.Count(r => r.Kept) / (double)related.Count,
        unrelatedRows.Count == 0 ? double.NaN : unrelatedRows.Count(r => r.Kept) / (double)unrelatedRows.Count,
        seconds);
}

// Forward + backward of the symmetric InfoNCE loss, as the trainer's step, on the same batches with and without token
// dropout, alternating so that the machine's load falls on both alike; the medians of the per-step times.
async Task<(double NoneMs, double DroppedMs)> StepTimesAsync(TrainConfig runConfig, double p, int repeats)
{
    var options = runConfig.ToTrainerOptions();
    TorchSharp.torch.random.manual_seed(0);
    using var model = new VideoClipModel(options.Model);
    model.train();
    var plan = BatchPlan.Shuffled(train.VideoIds, runConfig.BatchVideos, 0, 0);
    var none = new List<double>();
    var dropped = new List<double>();
    var batches = new List<(VideoData.Training.Streaming.ClipBatch Whole, VideoData.Training.Streaming.ClipBatch Dropped)>();
    var whole = new List<VideoData.Training.Streaming.ClipBatch>();
    await foreach (var b in VideoData.Training.Streaming.BatchStreamer.StreamAsync(train, plan, options.Streamer with { TokenDropout = 0 }))
    {
        whole.Add(b);
    }

    var i = 0;
    await foreach (var b in VideoData.Training.Streaming.BatchStreamer.StreamAsync(train, plan, options.Streamer with { TokenDropout = p }))
    {
        batches.Add((whole[i++], b));
    }

    for (var r = 0; r < repeats; r++)
    {
        var (a, d) = batches[r % batches.Count];
        none.Add(TimeStep(model, a));
        dropped.Add(TimeStep(model, d));
    }

    foreach (var (a, d) in batches)
    {
        a.Dispose();
        d.Dispose();
    }

    return (Median(none), Median(dropped));
}

static double TimeStep(VideoClipModel model, VideoData.Training.Streaming.ClipBatch batch)
{
    var clock = Stopwatch.StartNew();
    using (var scope = TorchSharp.torch.NewDisposeScope())
    {
        model.zero_grad();
        var video = model.EncodeVideo(batch.Vfeats, batch.Vmasks, batch.Vpositions);
        var text = model.EncodeText(batch.Caps, batch.Cmasks);
        var logits = text.mm(video.t());
        var labels = TorchSharp.torch.arange(logits.shape[0], TorchSharp.torch.ScalarType.Int64);
        var loss = TorchSharp.torch.nn.functional.cross_entropy(logits, labels) + TorchSharp.torch.nn.functional.cross_entropy(logits.t(), labels);
        loss.backward();
    }

    return clock.Elapsed.TotalMilliseconds;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted[sorted.Length / 2];
}

static string Quantiles(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{sorted[sorted.Length / 10]:F3}/{sorted[sorted.Length / 2]:F3}/{sorted[sorted.Length * 9 / 10]:F3}");
}

// P(score of a related segment > score of an unrelated one), ties counting half: the Mann–Whitney form of the ROC AUC.
static double Auc(List<double> positive, List<double> negative)
{
    if (positive.Count == 0 || negative.Count == 0)
    {
        return double.NaN;
    }

    var all = positive.Select(s => (Score: s, Positive: true)).Concat(negative.Select(s => (Score: s, Positive: false))).OrderBy(x => x.Score).ToList();
    double rankSum = 0;
    for (var i = 0; i < all.Count;)
    {
        var j = i;
        while (j < all.Count && all[j].Score == all[i].Score)
        {
            j++;
        }

        var midRank = ((i + 1) + j) / 2.0;
        rankSum += all.Skip(i).Take(j - i).Count(x => x.Positive) * midRank;
        i = j;
    }

    var p = positive.Count;
    return (rankSum - (p * (p + 1) / 2.0)) / ((double)p * negative.Count);
}

internal sealed record Run(string Name, double TokenDropout, double RecallAt1, double RecallAt5, double StepMs, int Steps, double TrainSeconds, Measure? Measure);

internal sealed record Measure(int Window, int Shifted, double Recovered, double Chance, double InPlace, double Auc, double KeptRelated, double KeptUnrelated, double Seconds);

internal sealed class Observer : ITrainingObserver
{
    public List<StepReport> Steps { get; } = [];

    public void OnStep(StepReport report) => Steps.Add(report);

    public void OnEpoch(EpochReport report)
    {
    }

    public void OnCheckpoint(string path)
    {
    }
}

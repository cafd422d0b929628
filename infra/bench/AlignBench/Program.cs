// Driver for infra/bench/align.sh.
//   AlignBench CONFIG OUTPUT EPOCHS SHIFT_FRACTION UNRELATED_FRACTION TOKEN_DROPOUT
// Trains the config's model on its synthetic corpus with SHIFT_FRACTION of the training caption segments moved 2–6 s
// and UNRELATED_FRACTION replaced by unrelated words (held-out captions stay true), three ways, from the same seed:
//   plain      no alignment, no token dropout (the reference behaviour)
//   aligned    captions re-aligned with the current model before every epoch ≥ 1 (alignment.every = 1)
//   dropout    token dropout TOKEN_DROPOUT, no alignment
// and aligns the training captions with the plain and aligned runs' final models to measure, against the truth:
// the fraction of shifted segments whose offset is recovered within ±1 s, the fraction of true segments left within
// ±1 s, and the ROC AUC of the alignability score for related vs unrelated segments. Prints RESULT lines.
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

var plain = await RunAsync("plain", config, tokenDropout: 0);
var aligned = await RunAsync("aligned", config with { Alignment = config.Alignment with { Enabled = true, Every = 1 } }, tokenDropout: 0);
var dropped = await RunAsync("dropout", config with { Streamer = config.Streamer with { TokenDropout = dropout } }, tokenDropout: dropout);
foreach (var run in new[] { plain, aligned, dropped })
{
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"RESULT run={run.Name} token_dropout={run.TokenDropout} r1={run.RecallAt1:F4} r5={run.RecallAt5:F4} step_ms={run.StepMs:F1} steps={run.Steps} total_s={run.TrainSeconds:F1}"));
}

foreach (var run in new[] { plain, aligned })
{
    var m = run.Measure!;
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"RESULT align_model={run.Name} window={m.Window} shifted={m.Shifted} recovered_1s={m.Recovered:F4} chance_1s={m.Chance:F4} true_kept_in_place_1s={m.InPlace:F4} auc_related_vs_unrelated={m.Auc:F4} kept_related={m.KeptRelated:F4} kept_unrelated={m.KeptUnrelated:F4} align_s={m.Seconds:F1}"));
}

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

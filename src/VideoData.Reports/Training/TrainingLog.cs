using System.Text.Json;

namespace VideoData.Reports.Training;

/// <summary>One optimizer step from <c>train-log.jsonl</c> (<c>"kind": "step"</c>).</summary>
internal sealed record StepEntry(int Epoch, int Step, long GlobalStep, double Loss, double LearningRate, double StepMs, double DataWaitMs, int Clips);

/// <summary>One epoch from <c>train-log.jsonl</c> (<c>"kind": "epoch"</c>).</summary>
internal sealed record EpochEntry(int Epoch, int Steps, double? MeanLoss, double DataWaitShare, double? RecallAt1, double? RecallAt5, int EvalClips);

/// <summary>
/// The steps and epochs of a training run's <c>train-log.jsonl</c>. A resumed run appends to the same log and may
/// repeat steps after its checkpoint; the last record of each global step (and of each epoch) wins, as that is the
/// trajectory the final weights followed.
/// </summary>
internal sealed record TrainingLog(IReadOnlyList<StepEntry> Steps, IReadOnlyList<EpochEntry> Epochs, int SkippedLines)
{
    public const string FileName = "train-log.jsonl";

    public static async Task<TrainingLog> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var steps = new SortedDictionary<long, StepEntry>();
        var epochs = new SortedDictionary<int, EpochEntry>();
        var skipped = 0;
        var number = 0;
        foreach (var line in await File.ReadAllLinesAsync(path, cancellationToken).ConfigureAwait(false))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                switch (root.TryGetProperty("kind", out var kind) ? kind.GetString() : null)
                {
                    case "step":
                        var step = new StepEntry(Int(root, "epoch"), Int(root, "step"), root.GetProperty("global_step").GetInt64(), Number(root, "loss") ?? double.NaN,
                            Number(root, "learning_rate") ?? double.NaN, Number(root, "step_ms") ?? double.NaN, Number(root, "data_wait_ms") ?? double.NaN, Int(root, "clips"));
                        steps[step.GlobalStep] = step;
                        break;
                    case "epoch":
                        var epoch = new EpochEntry(Int(root, "epoch"), Int(root, "steps"), Number(root, "mean_loss"), Number(root, "data_wait_share") ?? double.NaN,
                            Number(root, "recall_at1"), Number(root, "recall_at5"), Int(root, "eval_clips"));
                        epochs[epoch.Epoch] = epoch;
                        break;
                    default:
                        break;
                }
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // A line cut short by a killed run is expected at the end of a log; count it, show the rest.
                skipped++;
                _ = number;
            }
        }

        return new TrainingLog(steps.Values.ToList(), epochs.Values.ToList(), skipped);
    }

    private static int Int(JsonElement root, string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}

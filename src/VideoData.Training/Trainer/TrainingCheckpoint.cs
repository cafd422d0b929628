using System.Text.Json;
using System.Text.Json.Serialization;
using VideoData.Training.Model;
using static TorchSharp.torch;

namespace VideoData.Training.Trainer;

/// <summary>
/// Where a run stands: the next (epoch, step) to train, the global step, and the plan file of the epoch.
/// With the model, optimizer and RNG state saved beside it, this is enough to continue the exact trajectory.
/// </summary>
/// <param name="Epoch">The epoch the next step belongs to.</param>
/// <param name="NextStep">The next step to run within <paramref name="Epoch"/> (0 at an epoch start).</param>
/// <param name="GlobalStep">Optimizer steps taken so far.</param>
/// <param name="Seed">The run seed.</param>
/// <param name="Rank">This process's rank.</param>
/// <param name="WorldSize">Number of ranks.</param>
/// <param name="Model">The model's sizes (a resume with other sizes is refused).</param>
public sealed record TrainingState(int Epoch, int NextStep, long GlobalStep, long Seed, int Rank, int WorldSize, VideoClipModelOptions Model);

/// <summary>
/// Checkpoint folders: <c>checkpoints/step-NNNNNNNNN/</c> holding <c>model.bin</c> (TorchSharp module format),
/// <c>optimizer.bin</c> (Adam state), <c>rng.bin</c> (libtorch's CPU generator state) and <c>state.json</c>
/// (<see cref="TrainingState"/>); <c>checkpoints/latest</c> names the newest. Each folder is written under a
/// temporary name and renamed, so a reader never sees half a checkpoint.
/// </summary>
internal static class TrainingCheckpoint
{
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Folder(string outputDirectory) => Path.Combine(outputDirectory, "checkpoints");

    public static string Save(string outputDirectory, TrainingState state, VideoClipModel model, AdamOptimizer optimizer, int keep)
    {
        var root = Folder(outputDirectory);
        Directory.CreateDirectory(root);
        var name = $"step-{state.GlobalStep:D9}";
        var final = Path.Combine(root, name);
        var temp = Path.Combine(root, $".{name}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            model.save(Path.Combine(temp, "model.bin"));
            optimizer.Save(Path.Combine(temp, "optimizer.bin"));
            using (var rng = random.get_rng_state())
            {
                File.WriteAllBytes(Path.Combine(temp, "rng.bin"), rng.bytes.ToArray());
            }

            File.WriteAllText(Path.Combine(temp, "state.json"), JsonSerializer.Serialize(state, JsonOptions));
            if (Directory.Exists(final))
            {
                Directory.Delete(final, recursive: true);
            }

            Directory.Move(temp, final);
        }
        catch
        {
            Directory.Delete(temp, recursive: true);
            throw;
        }

        var latestTemp = Path.Combine(root, $".latest.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(latestTemp, name);
        File.Move(latestTemp, Path.Combine(root, "latest"), overwrite: true);
        Prune(root, keep);
        return final;
    }

    /// <summary>Resolves a checkpoint folder, or an output folder whose <c>checkpoints/latest</c> names one.</summary>
    public static string Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, "state.json")))
        {
            return path;
        }

        var latest = Path.Combine(Folder(path), "latest");
        if (File.Exists(latest))
        {
            var folder = Path.Combine(Folder(path), File.ReadAllText(latest).Trim());
            if (File.Exists(Path.Combine(folder, "state.json")))
            {
                return folder;
            }

            throw new InvalidDataException($"Checkpoint pointer '{latest}' names '{folder}', which holds no state.json.");
        }

        throw new FileNotFoundException($"'{path}' is neither a checkpoint folder (no state.json) nor a training output folder (no checkpoints/latest).", path);
    }

    public static TrainingState ReadState(string checkpoint)
    {
        var file = Path.Combine(checkpoint, "state.json");
        try
        {
            return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(file), JsonOptions)
                ?? throw new InvalidDataException($"Checkpoint state '{file}' is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Checkpoint state '{file}' is not valid: {ex.Message}", ex);
        }
    }

    public static void Restore(string checkpoint, VideoClipModel model, AdamOptimizer optimizer)
    {
        model.load(Path.Combine(checkpoint, "model.bin"));
        optimizer.Load(Path.Combine(checkpoint, "optimizer.bin"));
        var bytes = File.ReadAllBytes(Path.Combine(checkpoint, "rng.bin"));
        using var rng = tensor(bytes, [bytes.Length], ScalarType.Byte);
        random.set_rng_state(rng);
    }

    private static void Prune(string root, int keep)
    {
        if (keep <= 0)
        {
            return;
        }

        var old = Directory.GetDirectories(root, "step-*").Order(StringComparer.Ordinal).SkipLast(keep);
        foreach (var folder in old)
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using VideoData.Core.IO;
using VideoData.Training.IO;
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
internal sealed record TrainingState(int Epoch, int NextStep, long GlobalStep, long Seed, int Rank, int WorldSize, VideoClipModelOptions Model);

/// <summary>The checkpoint a resume starts from, the older ones it may prune after, and why newer ones were passed over.</summary>
/// <param name="Folder">The checkpoint folder to restore.</param>
/// <param name="History">
/// Names of the retained checkpoints of this output folder, newest first, starting with <paramref name="Folder"/>'s own
/// (empty when <paramref name="Folder"/> lies outside the output folder's <c>checkpoints/</c>).
/// </param>
/// <param name="Warnings">One line per listed checkpoint that was newer but unreadable, naming it and the problem.</param>
internal sealed record ResumePoint(string Folder, IReadOnlyList<string> History, IReadOnlyList<string> Warnings);

/// <summary>
/// Checkpoint folders <c>OUTPUT/checkpoints/step-NNNNNNNNN[-K]/</c> holding <c>model.bin</c> (TorchSharp module format),
/// <c>optimizer.bin</c> (Adam state), <c>rng.bin</c> (libtorch's CPU generator state), <c>state.json</c>
/// (<see cref="TrainingState"/>) and <c>manifest.json</c> (size and SHA-256 of each of those), and the pointer file
/// <c>OUTPUT/checkpoints/latest</c>: the retained checkpoints' folder names, one per line, newest first.
/// </summary>
/// <remarks>
/// Invariants, each kept by <see cref="Save"/> and relied on by <see cref="Resolve"/> (the Training README states them too):
/// <list type="number">
/// <item>A checkpoint is complete and on disk before anything names it: its files are written into a hidden temporary
/// folder, each flushed (fsync), the manifest written last, the folder flushed, renamed to its final name, and the
/// checkpoints folder flushed. Only then does <c>latest</c> change.</item>
/// <item><c>latest</c> changes atomically: the new list is written to a temporary file, flushed, renamed over it and the
/// folder flushed, so a crash leaves the old list or the new one.</item>
/// <item>A published checkpoint folder is never modified or replaced. Saving a step that already has a folder (after a
/// resume, the epoch-end save repeats the step of the stop) publishes under a new name (<c>step-N-1</c>, …), so the old
/// one stays whole until <c>latest</c> no longer lists it.</item>
/// <item>Pruning comes after <c>latest</c> has switched and is relative to it: the newest <c>keep</c> checkpoints of
/// <c>latest</c>'s history stay, every other <c>step-*</c> folder and every temporary leftover is deleted. Folder names
/// are never compared, so leftovers of an older run (larger step numbers) can never outlive or displace the new ones.</item>
/// <item>A resume takes the first listed checkpoint whose files match its manifest; every newer one that does not is
/// reported as a warning naming it and the problem, and drops out of the history at the next save.</item>
/// </list>
/// A crash at any point of a save therefore leaves a <c>latest</c> that names complete checkpoints only. Test builds can
/// kill the process after each step of a save through <see cref="KillPoints"/>: <c>checkpoint.model-written</c>,
/// <c>checkpoint.files-written</c>, <c>checkpoint.published</c>, <c>checkpoint.latest-switched</c>,
/// <c>checkpoint.pruned</c>.
/// </remarks>
internal static class TrainingCheckpoint
{
    /// <summary>The pointer file's name.</summary>
    public const string LatestName = "latest";

    private const string ManifestName = "manifest.json";
    private const string StateName = "state.json";
    private static readonly string[] ContentFiles = ["model.bin", "optimizer.bin", "rng.bin", StateName];

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Folder(string outputDirectory) => Path.Combine(outputDirectory, "checkpoints");

    /// <summary>
    /// Publishes a checkpoint of (<paramref name="state"/>, <paramref name="model"/>, <paramref name="optimizer"/>, libtorch's
    /// generator) and makes it the newest of <paramref name="history"/> (the retained checkpoints, newest first), keeping
    /// the newest <paramref name="keep"/> (0: all). Returns the folder and the new history.
    /// </summary>
    public static (string Folder, IReadOnlyList<string> History) Save(
        string outputDirectory, TrainingState state, VideoClipModel model, AdamOptimizer optimizer, int keep, IReadOnlyList<string> history)
    {
        var root = Folder(outputDirectory);
        Directory.CreateDirectory(root);
        var name = FreeName(root, state.GlobalStep);
        var final = Path.Combine(root, name);
        var temp = Path.Combine(root, OutputFile.TemporaryNameFor(name));
        Directory.CreateDirectory(temp);
        try
        {
            model.save(Path.Combine(temp, "model.bin"));
            KillPoints.Reach("checkpoint.model-written");
            optimizer.Save(Path.Combine(temp, "optimizer.bin"));
            using (var rng = random.get_rng_state())
            {
                File.WriteAllBytes(Path.Combine(temp, "rng.bin"), rng.bytes.ToArray());
            }

            File.WriteAllText(Path.Combine(temp, StateName), JsonSerializer.Serialize(state, JsonOptions));
            var manifest = new Manifest(1, ContentFiles.ToDictionary(f => f, f => Describe(Path.Combine(temp, f)), StringComparer.Ordinal));
            foreach (var file in ContentFiles)
            {
                OutputFile.FlushFile(Path.Combine(temp, file));
            }

            // The manifest is written last: a folder with a valid manifest has every file it lists.
            File.WriteAllText(Path.Combine(temp, ManifestName), JsonSerializer.Serialize(manifest, JsonOptions));
            OutputFile.FlushFile(Path.Combine(temp, ManifestName));
            OutputFile.FlushFolder(temp);
            KillPoints.Reach("checkpoint.files-written");
            Directory.Move(temp, final);
            OutputFile.FlushFolder(root);
            KillPoints.Reach("checkpoint.published");
        }
        catch
        {
            TryDeleteFolder(temp);
            throw;
        }

        var retained = history.Where(h => h != name).Prepend(name).ToList();
        if (keep > 0 && retained.Count > keep)
        {
            retained.RemoveRange(keep, retained.Count - keep);
        }

        WriteLatest(root, retained);
        KillPoints.Reach("checkpoint.latest-switched");
        Prune(root, retained);
        KillPoints.Reach("checkpoint.pruned");
        return (final, retained);
    }

    /// <summary>
    /// Resolves where a resume starts: a checkpoint folder (it must verify), or an output folder whose <c>latest</c>
    /// lists checkpoints, of which the first that verifies is taken and each newer one that does not becomes a warning.
    /// </summary>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> is neither a checkpoint nor a training output folder.</exception>
    /// <exception cref="InvalidDataException">No listed checkpoint verifies (the message names each and its problem).</exception>
    public static ResumePoint Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, StateName)))
        {
            var problem = Verify(path);
            if (problem is not null)
            {
                throw new InvalidDataException($"Checkpoint '{path}' cannot be resumed: {problem}");
            }

            var full = Path.GetFullPath(path);
            var parent = Path.GetDirectoryName(full.TrimEnd(Path.DirectorySeparatorChar));
            var own = Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar));
            IReadOnlyList<string> history = [];
            if (parent is not null && File.Exists(Path.Combine(parent, LatestName)))
            {
                // A checkpoint of this output folder: what it listed as older stays prunable in the same order.
                var listedHere = ReadLatest(Path.Combine(parent, LatestName));
                var at = listedHere.ToList().IndexOf(own);
                history = at >= 0 ? listedHere.Skip(at).ToList() : [own];
            }

            return new ResumePoint(path, history, []);
        }

        var root = Folder(path);
        var latest = Path.Combine(root, LatestName);
        if (!File.Exists(latest))
        {
            throw new FileNotFoundException($"'{path}' is neither a checkpoint folder (no state.json) nor a training output folder (no checkpoints/latest).", path);
        }

        var listed = ReadLatest(latest);
        if (listed.Count == 0)
        {
            throw new InvalidDataException($"Checkpoint pointer '{latest}' lists no checkpoint.");
        }

        var warnings = new List<string>();
        for (var i = 0; i < listed.Count; i++)
        {
            var folder = Path.Combine(root, listed[i]);
            var problem = Verify(folder);
            if (problem is null)
            {
                return new ResumePoint(folder, listed.Skip(i).ToList(), warnings);
            }

            warnings.Add(i + 1 < listed.Count
                ? $"checkpoint '{folder}' is unreadable ({problem}); falling back to the previous one, '{listed[i + 1]}'."
                : $"checkpoint '{folder}' is unreadable ({problem}).");
        }

        throw new InvalidDataException($"None of the checkpoints '{latest}' lists can be resumed: {string.Join(" ", warnings)}");
    }

    public static TrainingState ReadState(string checkpoint)
    {
        var file = Path.Combine(checkpoint, StateName);
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

    /// <summary>The retained checkpoints <c>latest</c> lists, newest first (a pointer written before lists were kept names one).</summary>
    public static IReadOnlyList<string> ReadLatest(string latestFile) =>
        File.ReadAllLines(latestFile).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

    /// <summary>Null when <paramref name="folder"/> holds a checkpoint whose files match its manifest, else the problem.</summary>
    internal static string? Verify(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return "the folder does not exist";
        }

        var manifestPath = Path.Combine(folder, ManifestName);
        if (File.Exists(manifestPath))
        {
            Manifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath), JsonOptions);
            }
            catch (JsonException ex)
            {
                return $"{ManifestName} is not valid: {ex.Message}";
            }

            if (manifest?.Files is null || ContentFiles.Any(f => !manifest.Files.ContainsKey(f)))
            {
                return $"{ManifestName} does not list {string.Join(", ", ContentFiles)}";
            }

            foreach (var (file, expected) in manifest.Files)
            {
                var path = Path.Combine(folder, file);
                if (!File.Exists(path))
                {
                    return $"{file} is missing";
                }

                var actual = Describe(path);
                if (actual.Bytes != expected.Bytes)
                {
                    return $"{file} has {actual.Bytes} bytes, the manifest says {expected.Bytes}";
                }

                if (!string.Equals(actual.Sha256, expected.Sha256, StringComparison.Ordinal))
                {
                    return $"{file} does not match its SHA-256 in the manifest";
                }
            }
        }
        else if (ContentFiles.FirstOrDefault(f => !File.Exists(Path.Combine(folder, f))) is { } missing)
        {
            // Checkpoints written before manifests existed are accepted when they are whole.
            return $"{missing} is missing";
        }

        try
        {
            ReadState(folder);
        }
        catch (InvalidDataException ex)
        {
            return ex.Message;
        }

        return null;
    }

    /// <summary>The first unused folder name for <paramref name="globalStep"/>: published folders are never replaced.</summary>
    private static string FreeName(string root, long globalStep)
    {
        var name = $"step-{globalStep:D9}";
        for (var k = 1; Directory.Exists(Path.Combine(root, name)); k++)
        {
            name = $"step-{globalStep:D9}-{k}";
        }

        return name;
    }

    private static void WriteLatest(string root, IReadOnlyList<string> retained) =>
        OutputFile.Write(Path.Combine(root, LatestName), stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            foreach (var name in retained)
            {
                writer.WriteLine(name);
            }
        });

    /// <summary>Deletes every checkpoint folder <paramref name="retained"/> does not name, and temporary leftovers of crashed saves.</summary>
    private static void Prune(string root, IReadOnlyList<string> retained)
    {
        var keep = retained.ToHashSet(StringComparer.Ordinal);
        foreach (var folder in Directory.GetDirectories(root))
        {
            var name = Path.GetFileName(folder);
            // Temporary folders of crashed saves: OutputFile's scheme, and ".step-….tmp" of earlier versions.
            var stale = (name.StartsWith("step-", StringComparison.Ordinal) && !keep.Contains(name))
                || name.StartsWith(OutputFile.TemporaryPrefix + "step-", StringComparison.Ordinal)
                || (name.StartsWith(".step-", StringComparison.Ordinal) && name.EndsWith(".tmp", StringComparison.Ordinal));
            if (stale)
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        foreach (var file in Directory.GetFiles(root, $".{LatestName}.*.tmp").Concat(Directory.GetFiles(root, OutputFile.TemporaryPrefix + LatestName + "-*")))
        {
            File.Delete(file);
        }
    }

    private static FileDigest Describe(string path)
    {
        using var stream = File.OpenRead(path);
        return new FileDigest(stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    private static void TryDeleteFolder(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A hidden temporary folder; the next save's pruning removes it, and the original error matters more.
        }
    }

    private sealed record FileDigest(long Bytes, string Sha256);

    private sealed record Manifest(int Format, Dictionary<string, FileDigest> Files);
}

namespace VideoData.Training.Trainer;

/// <summary>
/// What the trainer keeps in its output folder, and the rule that a fresh run never starts on top of another run's
/// files: <c>plans/</c> (a fresh run would silently train on the old run's plans), <c>checkpoints/</c> (their history
/// would mix with the new run's), <c>embeddings/</c>, <c>alignment/</c> (a fresh run would re-time its captions with the
/// old run's tables) and rank 0's log <c>train-log.jsonl</c>. Other ranks' logs
/// (<c>train-log.rank-R.jsonl</c>) are neither checked nor deleted: in a run of several ranks they are created by the
/// other processes while rank 0 checks, and they are appended to, never read back.
/// </summary>
internal static class TrainingOutput
{
    internal static readonly string[] RunFolders = ["checkpoints", "plans", "embeddings", "alignment"];

    /// <summary>
    /// Throws <see cref="IOException"/> naming the folder and what it holds when <paramref name="outputDirectory"/> holds a
    /// training run's files (checkpoints, plans, embeddings, and with <paramref name="logs"/> the log <c>train-log.jsonl</c>). A missing or empty folder, or one holding other files only, is fine. The trainer itself checks without logs,
    /// since its caller may have opened the new run's log already.
    /// </summary>
    public static void EnsureFresh(string outputDirectory, bool logs = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        var found = RunEntries(outputDirectory, logs);
        if (found.Count > 0)
        {
            throw new IOException(
                $"output folder '{outputDirectory}' already holds a training run ({string.Join(", ", found.Select(Path.GetFileName))}). "
                + "A fresh run there would reuse its plans and mix its checkpoints with the new ones: continue it with --resume, "
                + "choose another --output, or pass --overwrite to delete that run's checkpoints, plans, embeddings, alignment tables and log first.");
        }
    }

    /// <summary>
    /// Deletes the training run's files from <paramref name="outputDirectory"/> (checkpoints, plans, embeddings, rank 0's log;
    /// nothing else) and returns what it deleted. Used by <c>videodata train --overwrite</c>.
    /// </summary>
    public static IReadOnlyList<string> Clear(string outputDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        var found = RunEntries(outputDirectory, logs: true);
        foreach (var entry in found)
        {
            if (Directory.Exists(entry))
            {
                // checkpoints/latest first: a crash part-way leaves no pointer to a half-deleted checkpoint.
                var latest = Path.Combine(entry, TrainingCheckpoint.LatestName);
                if (File.Exists(latest))
                {
                    File.Delete(latest);
                }

                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }

        return found;
    }

    private static List<string> RunEntries(string outputDirectory, bool logs)
    {
        if (!Directory.Exists(outputDirectory))
        {
            return [];
        }

        var found = RunFolders.Select(f => Path.Combine(outputDirectory, f))
            .Where(f => Directory.Exists(f) && Directory.EnumerateFileSystemEntries(f).Any())
            .ToList();
        var log = Path.Combine(outputDirectory, "train-log.jsonl");
        if (logs && File.Exists(log))
        {
            found.Add(log);
        }

        return found;
    }
}

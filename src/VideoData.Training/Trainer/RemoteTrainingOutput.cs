using System.Security.Cryptography;
using System.Text;
using VideoData.Core.IO;
using VideoData.Storage.Blobs;
using VideoData.Training.IO;

namespace VideoData.Training.Trainer;

/// <summary>
/// A training output that lives in a blob store (<c>train --output s3://bucket/run/</c>). The trainer works in a local
/// staging folder exactly as it does with a local output (same checkpoint, plan and log code); this class copies that
/// folder to the store after every checkpoint and at the end, and copies the store's run into a fresh staging folder
/// before a resume.
/// </summary>
/// <remarks>
/// Invariants, for a reader of the store (a resume on another machine, <c>align --checkpoint</c> after a download):
/// <list type="number">
/// <item>Every object is whole: each is written with the store's atomic write (on S3 a PUT or a completed multipart
/// upload), never appended to in place.</item>
/// <item><c>checkpoints/latest</c> names complete checkpoints only: a push uploads each checkpoint's files, then its
/// <c>manifest.json</c> (which lists their sizes and SHA-256), then <c>latest</c>, in that order, and the resume verifies
/// each listed checkpoint against its manifest like a local one.</item>
/// <item>Checkpoints are removed from the store only after the <c>latest</c> that no longer lists them is written, so a
/// crash during a push leaves the previous <c>latest</c> and everything it names.</item>
/// <item>Plans, embeddings and alignment tables are uploaded before <c>latest</c> moves past the step that wrote them, so a
/// resume from the store finds the plan its checkpoint was trained on.</item>
/// </list>
/// Only the process that writes checkpoints (rank 0) pushes; every rank pulls before a resume. Test builds can kill the
/// process after a push's files and before its <c>latest</c> (<c>remote.files-pushed</c>) and after the whole push
/// (<c>remote.pushed</c>) through <see cref="KillPoints"/>.
/// </remarks>
internal sealed class RemoteTrainingOutput : ITrainingObserver
{
    private const string CheckpointsFolder = "checkpoints";
    private const string ManifestName = "manifest.json";
    private readonly IBlobStore _store;
    private readonly string _prefix;
    private readonly Dictionary<string, (long Length, DateTime Written)> _pushed = new(StringComparer.Ordinal);

    /// <summary>Mirrors <paramref name="staging"/> to the objects under <paramref name="prefix"/> of <paramref name="store"/>.</summary>
    public RemoteTrainingOutput(IBlobStore store, string prefix, string staging)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(staging);
        _store = store;
        _prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        Staging = Path.GetFullPath(staging);
    }

    /// <summary>The local folder the trainer writes to.</summary>
    public string Staging { get; }

    /// <summary>The store location, for messages.</summary>
    public string Uri => _store.UriOf(_prefix);

    /// <summary>
    /// The staging folder for <paramref name="uri"/>: <c>VIDEODATA_TRAIN_STAGING</c> when set, else a folder of the system's
    /// temporary folder named after a digest of the URI (one per run, reused by a resume on the same machine).
    /// </summary>
    public static string StagingFolderFor(string uri)
    {
        var root = Environment.GetEnvironmentVariable("VIDEODATA_TRAIN_STAGING") is { Length: > 0 } set ? set : Path.GetTempPath();
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(uri)))[..16];
        return Path.Combine(root, $"videodata-train-{digest}");
    }

    /// <summary>
    /// Refuses (<see cref="IOException"/> naming the location) to start a fresh run where the store holds one, unless
    /// <paramref name="overwrite"/>, which deletes that run's objects (<c>latest</c> first) and returns what it found. Empties
    /// the staging folder.
    /// </summary>
    public async Task<IReadOnlyList<string>> PrepareFreshAsync(bool overwrite, CancellationToken cancellationToken)
    {
        // One listing serves both the check and the delete: what was found is the keys' first path segments.
        var keys = await ListRunKeysAsync(cancellationToken).ConfigureAwait(false);
        var found = keys.Select(k => k[_prefix.Length..].Split('/')[0]).Distinct(StringComparer.Ordinal).ToList();
        if (found.Count > 0 && !overwrite)
        {
            throw new IOException(
                $"output '{Uri}' already holds a training run ({string.Join(", ", found)}). A fresh run there would reuse its plans "
                + "and mix its checkpoints with the new ones: continue it with --resume, choose another --output, or pass --overwrite "
                + "to delete that run's checkpoints, plans, embeddings, alignment tables and log first.");
        }

        if (found.Count > 0)
        {
            await _store.DeleteAsync($"{_prefix}{CheckpointsFolder}/{TrainingCheckpoint.LatestName}", cancellationToken).ConfigureAwait(false);
            foreach (var key in keys)
            {
                await _store.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
            }
        }

        ClearStaging();
        return found;
    }

    /// <summary>
    /// Fills a fresh staging folder with the store's run: <c>checkpoints/latest</c> and the checkpoints it lists, plans,
    /// embeddings, alignment tables and rank 0's log. Throws <see cref="FileNotFoundException"/> naming the location when it
    /// holds no run. What was pulled counts as pushed.
    /// </summary>
    public async Task PullAsync(CancellationToken cancellationToken)
    {
        ClearStaging();
        var latestKey = $"{_prefix}{CheckpointsFolder}/{TrainingCheckpoint.LatestName}";
        if (!await _store.ExistsAsync(latestKey, cancellationToken).ConfigureAwait(false))
        {
            throw new FileNotFoundException($"'{Uri}' holds no training run to resume (no {CheckpointsFolder}/{TrainingCheckpoint.LatestName}).", Uri);
        }

        var latestFile = await DownloadAsync(latestKey, cancellationToken).ConfigureAwait(false);
        var listed = TrainingCheckpoint.ReadLatest(latestFile).ToHashSet(StringComparer.Ordinal);
        foreach (var key in await ListRunKeysAsync(cancellationToken).ConfigureAwait(false))
        {
            var relative = key[_prefix.Length..];
            var parts = relative.Split('/');
            if (parts[0] == CheckpointsFolder && (parts.Length < 3 || !listed.Contains(parts[1])))
            {
                continue; // latest itself (already here), or a checkpoint latest does not name (a crashed push's leftover).
            }

            await DownloadAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Uploads what changed in the staging folder since the last push, in the order the invariants need: checkpoint files,
    /// then their manifests, then plans, embeddings, alignment tables and logs, then <c>checkpoints/latest</c>; then removes
    /// the store's checkpoints <c>latest</c> no longer lists.
    /// </summary>
    public async Task PushAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Staging))
        {
            return;
        }

        var checkpoints = Path.Combine(Staging, CheckpointsFolder);
        var latest = Path.Combine(checkpoints, TrainingCheckpoint.LatestName);
        var listed = File.Exists(latest) ? TrainingCheckpoint.ReadLatest(latest) : [];
        var files = Directory.EnumerateFiles(Staging, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Staging, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(r => !r.Split('/').Any(OutputFile.IsTemporaryName) && r != $"{CheckpointsFolder}/{TrainingCheckpoint.LatestName}")
            .Where(r => !r.StartsWith(CheckpointsFolder + "/", StringComparison.Ordinal) || listed.Contains(r.Split('/')[1]))
            .Order(StringComparer.Ordinal)
            .ToList();
        static int Order(string relative) =>
            relative.StartsWith(CheckpointsFolder + "/", StringComparison.Ordinal) ? (relative.EndsWith("/" + ManifestName, StringComparison.Ordinal) ? 1 : 0) : 2;
        foreach (var relative in files.OrderBy(Order))
        {
            await UploadIfChangedAsync(relative, cancellationToken).ConfigureAwait(false);
        }

        if (listed.Count == 0)
        {
            return;
        }

        KillPoints.Reach("remote.files-pushed");
        await UploadIfChangedAsync($"{CheckpointsFolder}/{TrainingCheckpoint.LatestName}", cancellationToken).ConfigureAwait(false);
        var keep = listed.ToHashSet(StringComparer.Ordinal);
        await foreach (var blob in _store.ListAsync($"{_prefix}{CheckpointsFolder}/", cancellationToken).ConfigureAwait(false))
        {
            var parts = blob.Key[_prefix.Length..].Split('/');
            if (parts.Length >= 3 && !keep.Contains(parts[1]))
            {
                await _store.DeleteAsync(blob.Key, cancellationToken).ConfigureAwait(false);
                _pushed.Remove(string.Join('/', parts));
            }
        }

        KillPoints.Reach("remote.pushed");
    }

    /// <inheritdoc />
    public void OnStep(StepReport report)
    {
    }

    /// <inheritdoc />
    public void OnEpoch(EpochReport report)
    {
    }

    /// <inheritdoc />
    /// <remarks>On the training loop, like the checkpoint save itself: the next step waits for the upload.</remarks>
    public void OnCheckpoint(string path) => PushAsync(CancellationToken.None).GetAwaiter().GetResult();

    private async Task<List<string>> ListRunKeysAsync(CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        foreach (var folder in TrainingOutput.RunFolders)
        {
            await foreach (var blob in _store.ListAsync($"{_prefix}{folder}/", cancellationToken).ConfigureAwait(false))
            {
                keys.Add(blob.Key);
            }
        }

        if (await _store.ExistsAsync(_prefix + "train-log.jsonl", cancellationToken).ConfigureAwait(false))
        {
            keys.Add(_prefix + "train-log.jsonl");
        }

        return keys;
    }

    private async Task UploadIfChangedAsync(string relative, CancellationToken cancellationToken)
    {
        var local = new FileInfo(Path.Combine(Staging, relative));
        var stamp = (local.Length, local.LastWriteTimeUtc);
        if (_pushed.TryGetValue(relative, out var pushed) && pushed == stamp)
        {
            return;
        }

        await _store.WriteFileAsync(_prefix + relative, local.FullName, cancellationToken).ConfigureAwait(false);
        _pushed[relative] = stamp;
    }

    private async Task<string> DownloadAsync(string key, CancellationToken cancellationToken)
    {
        var relative = key[_prefix.Length..];
        var path = Path.Combine(Staging, relative.Replace('/', Path.DirectorySeparatorChar));
        var source = await _store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            await OutputFile.WriteAsync(path, (target, ct) => source.CopyToAsync(target, ct), flushToDisk: false, cancellationToken).ConfigureAwait(false);
        }

        var file = new FileInfo(path);
        _pushed[relative] = (file.Length, file.LastWriteTimeUtc);
        return path;
    }

    /// <summary>Empties the staging folder (a rank that neither pulls nor checks starts from nothing).</summary>
    public void ClearStaging()
    {
        if (Directory.Exists(Staging))
        {
            Directory.Delete(Staging, recursive: true);
        }

        Directory.CreateDirectory(Staging);
        _pushed.Clear();
    }
}

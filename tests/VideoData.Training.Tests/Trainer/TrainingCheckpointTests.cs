using System.Security.Cryptography;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Trainer;

namespace VideoData.Training.Tests.Trainer;

/// <summary>
/// The checkpoint invariants of <see cref="TrainingCheckpoint"/> one by one. The crash-at-every-step-of-a-save tests,
/// which kill the real process, are in the CLI tests (TrainCheckpointCrashTests).
/// </summary>
[Collection("TorchSharp training")]
public sealed class TrainingCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-checkpoint-").FullName;
    private readonly VideoClipModel _model;
    private readonly AdamOptimizer _optimizer;

    public TrainingCheckpointTests()
    {
        TorchSharp.torch.random.manual_seed(3);
        _model = new VideoClipModel(VideoClipModelOptions.Tiny with { FeatureDim = 16, Hidden = 32, FeedForward = 64 });
        _optimizer = new AdamOptimizer(_model.parameters().ToList(), 0.9, 0.98, 1e-8, 0);
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Checkpoints => TrainingCheckpoint.Folder(_dir);

    private TrainingState State(long globalStep, int epoch = 0) => new(epoch, (int)globalStep, globalStep, 17, 0, 1, _model.Options);

    private IReadOnlyList<string> Latest() => TrainingCheckpoint.ReadLatest(Path.Combine(Checkpoints, TrainingCheckpoint.LatestName));

    private string[] Folders() => Directory.GetDirectories(Checkpoints).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static string Sha256(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    [Fact]
    public void Save_FoldersOfAnOlderRunWithLargerSteps_PrunesThemAndKeepsTheNewCheckpoint()
    {
        // An older run left step 900; pruning by folder name kept it and deleted the new step 3, leaving latest naming nothing.
        var (stale, _) = TrainingCheckpoint.Save(_dir, State(900), _model, _optimizer, keep: 1, history: []);

        var (fresh, history) = TrainingCheckpoint.Save(_dir, State(3), _model, _optimizer, keep: 1, history: []);

        Assert.True(Directory.Exists(fresh));
        Assert.False(Directory.Exists(stale));
        Assert.Equal(["step-000000003"], Latest());
        Assert.Equal(["step-000000003"], history);
        Assert.Equal(["step-000000003"], Folders());
        Assert.Equal(fresh, TrainingCheckpoint.Resolve(_dir).Folder);
    }

    [Fact]
    public void Save_KeepTwo_LatestListsTheNewestFirstAndPruningFollowsIt()
    {
        IReadOnlyList<string> history = [];
        foreach (var step in new long[] { 2, 4, 6 })
        {
            (_, history) = TrainingCheckpoint.Save(_dir, State(step), _model, _optimizer, keep: 2, history);
        }

        Assert.Equal(["step-000000006", "step-000000004"], Latest());
        Assert.Equal(["step-000000004", "step-000000006"], Folders());
        Assert.Equal(6, TrainingCheckpoint.ReadState(TrainingCheckpoint.Resolve(_dir).Folder).GlobalStep);
    }

    [Fact]
    public void Save_SameStepAgain_PublishesANewFolderAndLeavesTheOldOneUntouched()
    {
        var (first, history) = TrainingCheckpoint.Save(_dir, State(5), _model, _optimizer, keep: 2, history: []);
        var before = Directory.GetFiles(first).ToDictionary(f => Path.GetFileName(f), Sha256);

        // The epoch-end save after a resume repeats the step of the stop, with another state.
        var (second, _) = TrainingCheckpoint.Save(_dir, State(5, epoch: 1), _model, _optimizer, keep: 2, history);

        Assert.NotEqual(first, second);
        Assert.Equal("step-000000005-1", Path.GetFileName(second));
        Assert.Equal(["step-000000005-1", "step-000000005"], Latest());
        Assert.Equal(before, Directory.GetFiles(first).ToDictionary(f => Path.GetFileName(f), Sha256));
        Assert.Equal(1, TrainingCheckpoint.ReadState(TrainingCheckpoint.Resolve(_dir).Folder).Epoch);
    }

    [Fact]
    public void Resolve_NewestCheckpointCorrupt_FallsBackToThePreviousWithAWarning()
    {
        IReadOnlyList<string> history = [];
        foreach (var step in new long[] { 2, 4 })
        {
            (_, history) = TrainingCheckpoint.Save(_dir, State(step), _model, _optimizer, keep: 3, history);
        }

        var newest = Path.Combine(Checkpoints, "step-000000004");
        var bytes = File.ReadAllBytes(Path.Combine(newest, "model.bin"));
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(Path.Combine(newest, "model.bin"), bytes);

        var resume = TrainingCheckpoint.Resolve(_dir);

        Assert.Equal(Path.Combine(Checkpoints, "step-000000002"), resume.Folder);
        Assert.Equal(["step-000000002"], resume.History);
        var warning = Assert.Single(resume.Warnings);
        Assert.Contains(newest, warning, StringComparison.Ordinal);
        Assert.Contains("model.bin does not match its SHA-256", warning, StringComparison.Ordinal);
        Assert.Contains("falling back to the previous one, 'step-000000002'", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_NewestCheckpointMissingAFile_FallsBackAndTheNextSaveDropsIt()
    {
        IReadOnlyList<string> history = [];
        foreach (var step in new long[] { 2, 4 })
        {
            (_, history) = TrainingCheckpoint.Save(_dir, State(step), _model, _optimizer, keep: 3, history);
        }

        File.Delete(Path.Combine(Checkpoints, "step-000000004", "optimizer.bin"));
        var resume = TrainingCheckpoint.Resolve(_dir);
        Assert.Contains("optimizer.bin is missing", Assert.Single(resume.Warnings), StringComparison.Ordinal);

        TrainingCheckpoint.Save(_dir, State(3), _model, _optimizer, keep: 3, resume.History);

        Assert.Equal(["step-000000003", "step-000000002"], Latest());
        Assert.Equal(["step-000000002", "step-000000003"], Folders());
    }

    [Fact]
    public void Resolve_NoCheckpointReadable_ThrowsNamingEach()
    {
        IReadOnlyList<string> history = [];
        foreach (var step in new long[] { 2, 4 })
        {
            (_, history) = TrainingCheckpoint.Save(_dir, State(step), _model, _optimizer, keep: 3, history);
        }

        foreach (var folder in Directory.GetDirectories(Checkpoints))
        {
            File.WriteAllText(Path.Combine(folder, "state.json"), "{ not json");
        }

        var ex = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Resolve(_dir));
        Assert.Contains("step-000000004", ex.Message, StringComparison.Ordinal);
        Assert.Contains("step-000000002", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_LeftoversOfACrashedSave_AreRemovedAndNeverListed()
    {
        Directory.CreateDirectory(Path.Combine(Checkpoints, ".step-000000002.0123.tmp"));
        File.WriteAllText(Path.Combine(Checkpoints, ".step-000000002.0123.tmp", "model.bin"), "half");
        File.WriteAllText(Path.Combine(Checkpoints, ".latest.0123.tmp"), "step-000000002");

        TrainingCheckpoint.Save(_dir, State(2), _model, _optimizer, keep: 2, history: []);

        Assert.Equal(["latest"], Directory.GetFiles(Checkpoints).Select(Path.GetFileName));
        Assert.Equal(["step-000000002"], Folders());
    }

    [Fact]
    public async Task Create_FreshRunIntoAUsedOutputFolder_RefusesUntilTheOldRunIsCleared()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(16, "fresh"));
        var options = TinyRun.Options(Path.Combine(_dir, "run"), epochs: 1) with { EvalVideos = 0 };
        using (var trainer = new TinyRun().Create(options, train, null))
        {
            await trainer.RunAsync();
        }

        var ex = Assert.Throws<IOException>(() => new TinyRun().Create(options, train, null));
        Assert.Contains(options.OutputDirectory, ex.Message, StringComparison.Ordinal);
        Assert.Contains("--resume", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--overwrite", ex.Message, StringComparison.Ordinal);

        var removed = TrainingOutput.Clear(options.OutputDirectory);
        Assert.Equal(["checkpoints", "plans"], removed.Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var again = new TinyRun().Create(options, train, null);
        Assert.Equal(0, again.State.GlobalStep);
    }

    [Fact]
    public async Task Create_ResumeWithACorruptNewestCheckpoint_ContinuesFromThePreviousAndSaysWhy()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(24, "fallback"));
        var options = TinyRun.Options(Path.Combine(_dir, "run"), epochs: 1) with { EvalVideos = 0, CheckpointEverySteps = 1, KeepCheckpoints = 3 };
        using (var trainer = new TinyRun().Create(options, train, null))
        {
            await trainer.RunAsync(stopAtGlobalStep: 2);
        }

        var root = TrainingCheckpoint.Folder(options.OutputDirectory);
        File.WriteAllText(Path.Combine(root, "step-000000002", "rng.bin"), "truncated");

        using var resumed = new TinyRun().Create(options, train, null, resumeFrom: options.OutputDirectory);

        Assert.Equal(1, resumed.State.GlobalStep);
        Assert.Equal(Path.Combine(root, "step-000000001"), resumed.ResumedFrom);
        Assert.Contains("rng.bin has", Assert.Single(resumed.ResumeWarnings), StringComparison.Ordinal);
    }
}

using System.Globalization;

namespace VideoData.Storage.Sharding;

/// <summary>
/// Which worker this process is: <see cref="Index"/> (0-based) of <see cref="Count"/>. Worker <c>w</c> of
/// <c>W</c> processes shards with <c>id % W == w</c>.
/// </summary>
/// <param name="Index">0-based worker index, below <paramref name="Count"/>.</param>
/// <param name="Count">Number of workers, at least 1.</param>
public readonly record struct WorkerSlot(int Index, int Count)
{
    /// <summary>A single worker doing everything.</summary>
    public static WorkerSlot Single => new(0, 1);

    /// <summary>
    /// Resolves the slot from flags, the scheduler's environment and the pipeline definition, in this order:
    /// the index is <paramref name="index"/>, else <c>SLURM_ARRAY_TASK_ID</c> (minus <c>SLURM_ARRAY_TASK_MIN</c>
    /// when set, so 1-based arrays work), else Kubernetes' <c>JOB_COMPLETION_INDEX</c>, else 0; the count is
    /// <paramref name="count"/>, else <c>SLURM_ARRAY_TASK_COUNT</c> (when the index came from Slurm), else
    /// <paramref name="pipelineCount"/>, else 1 (when no index was found either). Throws
    /// <see cref="ArgumentException"/> naming the source of a bad or missing value.
    /// </summary>
    public static WorkerSlot Resolve(int? index, int? count, int? pipelineCount = null, Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        string indexSource;
        int resolvedIndex;
        if (index is { } flagIndex)
        {
            (resolvedIndex, indexSource) = (flagIndex, "--shard-index");
        }
        else if (Read(getVariable, "SLURM_ARRAY_TASK_ID") is { } slurmId)
        {
            var min = Read(getVariable, "SLURM_ARRAY_TASK_MIN") ?? 0;
            (resolvedIndex, indexSource) = (slurmId - min, min == 0 ? "SLURM_ARRAY_TASK_ID" : "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN");
        }
        else if (Read(getVariable, "JOB_COMPLETION_INDEX") is { } k8sIndex)
        {
            (resolvedIndex, indexSource) = (k8sIndex, "JOB_COMPLETION_INDEX");
        }
        else
        {
            (resolvedIndex, indexSource) = (0, "default");
        }

        int resolvedCount;
        string countSource;
        if (count is { } flagCount)
        {
            (resolvedCount, countSource) = (flagCount, "--shard-count");
        }
        else if (indexSource.StartsWith("SLURM", StringComparison.Ordinal) && Read(getVariable, "SLURM_ARRAY_TASK_COUNT") is { } slurmCount)
        {
            (resolvedCount, countSource) = (slurmCount, "SLURM_ARRAY_TASK_COUNT");
        }
        else if (pipelineCount is { } fromPipeline)
        {
            (resolvedCount, countSource) = (fromPipeline, "the pipeline definition");
        }
        else if (indexSource == "default")
        {
            (resolvedCount, countSource) = (1, "default");
        }
        else
        {
            throw new ArgumentException($"The worker index comes from {indexSource} = {resolvedIndex}, but no worker count is known: pass --shard-count or set it in the pipeline definition.");
        }

        if (resolvedCount < 1)
        {
            throw new ArgumentException($"Worker count {resolvedCount} (from {countSource}) is invalid: expected at least 1.");
        }

        if (resolvedIndex < 0 || resolvedIndex >= resolvedCount)
        {
            throw new ArgumentException($"Worker index {resolvedIndex} (from {indexSource}) is outside 0..{resolvedCount - 1} (count from {countSource}).");
        }

        return new WorkerSlot(resolvedIndex, resolvedCount);
    }

    /// <summary><c>2/8</c>.</summary>
    public override string ToString() => $"{Index}/{Count}";

    private static int? Read(Func<string, string?> getVariable, string name)
    {
        var text = getVariable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"Environment variable {name} = '{text}' is not a non-negative integer.");
    }
}

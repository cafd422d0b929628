using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace VideoData.Training.Distributed;

/// <summary>
/// SHA-256 of a model's parameters (their float32 bytes, in parameter order), and the check that every rank of a
/// data-parallel run holds the same one. Ranks that drift apart (a non-deterministic reduction, a rank that skipped
/// a step, a corrupted buffer) would otherwise keep training silently on different models.
/// </summary>
internal static class WeightDigest
{
    /// <summary>The lowercase hex SHA-256 of <paramref name="parameters"/>' values.</summary>
    public static string Compute(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var parameter in parameters)
        {
            hash.AppendData(MemoryMarshal.AsBytes(HostValues(parameter).AsSpan()));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// A float32 parameter's values copied to the host. The temporaries live in a dispose scope of their own: TorchSharp
    /// tensors have finalizers, and an unreferenced temporary (the detach() result while its cpu() runs) can be
    /// finalized on the finalizer thread in the middle of the native call that reads it, a use-after-free that crashed a
    /// two-rank test host inside libtorch's to(). One parameter at a time, so only one host copy exists at once.
    /// </summary>
    internal static float[] HostValues(Tensor parameter)
    {
        using var scope = NewDisposeScope();
        return parameter.detach().cpu().contiguous().data<float>().ToArray();
    }

    /// <summary>
    /// Gathers every rank's digest of <paramref name="parameters"/> and throws on every rank when they differ.
    /// Returns the common digest.
    /// </summary>
    /// <param name="collective">The ranks.</param>
    /// <param name="parameters">This rank's parameters.</param>
    /// <param name="where">Where the run stands, for the message (e.g. "after global step 40").</param>
    /// <exception cref="RankDivergenceException">Some rank's weights differ from rank 0's.</exception>
    public static string CheckSame(ICollective collective, IEnumerable<Tensor> parameters, string where)
    {
        ArgumentNullException.ThrowIfNull(collective);
        var digest = Compute(parameters);
        if (collective.WorldSize == 1)
        {
            return digest;
        }

        var all = collective.AllGather(Encoding.ASCII.GetBytes(digest)).Select(b => Encoding.ASCII.GetString(b)).ToList();
        var differing = Enumerable.Range(0, all.Count).Where(r => all[r] != all[0]).ToList();
        if (differing.Count > 0)
        {
            var listing = string.Join(", ", all.Select((d, r) => string.Create(CultureInfo.InvariantCulture, $"rank {r} {d[..16]}")));
            throw new RankDivergenceException(string.Create(
                CultureInfo.InvariantCulture,
                $"The ranks' weights differ {where}: rank{(differing.Count > 1 ? "s" : string.Empty)} {string.Join(", ", differing)} no longer match rank 0 "
                + $"(SHA-256 prefixes: {listing}). Data-parallel training needs bit-identical weights on every rank; stopping rather than training different models."));
        }

        return digest;
    }
}

/// <summary>The ranks of a data-parallel run no longer hold the same weights.</summary>
internal sealed class RankDivergenceException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public RankDivergenceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public RankDivergenceException()
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public RankDivergenceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

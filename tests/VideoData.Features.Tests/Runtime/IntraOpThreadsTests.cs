using VideoData.Features.Runtime;
using static TorchSharp.torch;

namespace VideoData.Features.Tests.Runtime;

// Changes libtorch's process-wide default thread count for a moment: in the torch collection, one at a time.
[Collection(TorchCollection.Name)]
public sealed class IntraOpThreadsTests
{
    /// <summary>Runs <paramref name="work"/> on a fresh thread (its first libtorch call there) and returns its result.</summary>
    internal static int RunOnNewThread(Func<int> work)
    {
        var result = 0;
        var thread = new Thread(() => result = work());
        thread.Start();
        thread.Join();
        return result;
    }

    [Fact]
    public void Pin_ThreadThatInheritedAnotherThreadsTemporaryCount_GetsTheRequestedCount()
    {
        // libtorch's own default for a new thread (MKL's physical core count), not necessarily IntraOpThreads' "one per core".
        var normal = RunOnNewThread(get_num_threads);
        var other = normal + 1;
        using var lowered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // What a retrieval worker does: lower its own count for a while, then restore it.
        var holder = new Thread(() =>
        {
            set_num_threads(other);
            lowered.Set();
            release.Wait();
            set_num_threads(normal);
        });
        holder.Start();
        lowered.Wait();
        try
        {
            // A thread whose first libtorch call falls in that window keeps the other count for life...
            var (inherited, pinned) = (0, 0);
            var thread = new Thread(() =>
            {
                inherited = get_num_threads();
                release.Set();
                holder.Join();
                IntraOpThreads.Pin(0);
                pinned = get_num_threads();
            });
            thread.Start();
            thread.Join();

            Assert.Equal(other, inherited);
            // ...unless it pins its count before computing.
            Assert.Equal(IntraOpThreads.Resolve(0), pinned);
        }
        finally
        {
            release.Set();
            holder.Join();
            RunOnNewThread(() => { set_num_threads(normal); return 0; });
        }

        Assert.Equal(normal, RunOnNewThread(get_num_threads));
    }

    [Fact]
    public void Pin_ExplicitCount_SetsTheCallingThreadOnly()
    {
        var normal = RunOnNewThread(get_num_threads);
        var cores = IntraOpThreads.Resolve(0);
        var (before, after) = (0, 0);
        var thread = new Thread(() =>
        {
            IntraOpThreads.Pin(cores + 2);
            before = get_num_threads();
            IntraOpThreads.Pin(0);
            after = get_num_threads();
        });
        thread.Start();
        thread.Join();
        RunOnNewThread(() => { set_num_threads(normal); return 0; });

        Assert.Equal(cores + 2, before);
        Assert.Equal(cores, after);
    }

    [Fact]
    public void Resolve_NegativeCount_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => IntraOpThreads.Resolve(-1));
}

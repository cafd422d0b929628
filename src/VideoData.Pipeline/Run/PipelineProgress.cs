using System.Diagnostics;

namespace VideoData.Pipeline.Run;

/// <summary>
/// Live counters of a preprocessing run, updated by the stages (thread-safe) and read by the progress
/// display and the summaries. Times are per stage, summed over that stage's workers.
/// </summary>
public sealed class PipelineProgress
{
    private long _videosTotal;
    private long _videosDone;
    private long _videosFailed;
    private long _videosSkipped;
    private long _secondsEncoded;
    private long _decodeTicks;
    private long _encodeTicks;
    private long _secondsIntoEncoder;
    private long _writeTicks;
    private long _shardsDone;
    private long _shardsTotal;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    internal Func<int>? DecodedQueueDepth { get; set; }

    internal Func<int>? EncodedQueueDepth { get; set; }

    /// <summary>Videos this worker is responsible for.</summary>
    public long VideosTotal => Interlocked.Read(ref _videosTotal);

    /// <summary>Videos finished with features in this run.</summary>
    public long VideosDone => Interlocked.Read(ref _videosDone);

    /// <summary>Videos that failed in this run.</summary>
    public long VideosFailed => Interlocked.Read(ref _videosFailed);

    /// <summary>Videos already done (or failed past their retries) by earlier runs.</summary>
    public long VideosSkipped => Interlocked.Read(ref _videosSkipped);

    /// <summary>Seconds of video encoded in this run.</summary>
    public long SecondsEncoded => Interlocked.Read(ref _secondsEncoded);

    /// <summary>Shards completed (including ones completed by earlier runs).</summary>
    public long ShardsDone => Interlocked.Read(ref _shardsDone);

    /// <summary>Shards this worker is responsible for.</summary>
    public long ShardsTotal => Interlocked.Read(ref _shardsTotal);

    /// <summary>Wall time since the run started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Time spent decoding, summed over decode workers.</summary>
    public TimeSpan DecodeTime => TimeSpan.FromTicks(Interlocked.Read(ref _decodeTicks));

    /// <summary>
    /// Seconds of video the encoder has taken in so far, counted as it takes them (live within a long
    /// video, where <see cref="SecondsEncoded"/> and <see cref="EncodeTime"/> move only when a video finishes).
    /// </summary>
    public long SecondsIntoEncoder => Interlocked.Read(ref _secondsIntoEncoder);

    /// <summary>Time spent in the encoder.</summary>
    public TimeSpan EncodeTime => TimeSpan.FromTicks(Interlocked.Read(ref _encodeTicks));

    /// <summary>Time spent writing results.</summary>
    public TimeSpan WriteTime => TimeSpan.FromTicks(Interlocked.Read(ref _writeTicks));

    /// <summary>Decoded seconds waiting for the encoder right now.</summary>
    public int DecodedQueue => DecodedQueueDepth?.Invoke() ?? 0;

    /// <summary>Encoded videos waiting for the writer right now.</summary>
    public int EncodedQueue => EncodedQueueDepth?.Invoke() ?? 0;

    /// <summary>Seconds of video per wall-clock second so far.</summary>
    public double VideoSecondsPerSecond => Elapsed.TotalSeconds > 0 ? SecondsEncoded / Elapsed.TotalSeconds : 0;

    /// <summary>Estimated time left from the rate of finished videos, or null before the first one.</summary>
    public TimeSpan? EstimatedRemaining
    {
        get
        {
            var finished = VideosDone + VideosFailed;
            var left = VideosTotal - finished - VideosSkipped;
            return finished == 0 || left <= 0 ? (left <= 0 ? TimeSpan.Zero : null) : Elapsed * (left / (double)finished);
        }
    }

    internal void AddTotals(long videos, long shards)
    {
        Interlocked.Add(ref _videosTotal, videos);
        Interlocked.Add(ref _shardsTotal, shards);
    }

    internal void VideoDone(int seconds)
    {
        Interlocked.Increment(ref _videosDone);
        Interlocked.Add(ref _secondsEncoded, seconds);
    }

    internal void VideoFailed() => Interlocked.Increment(ref _videosFailed);

    internal void VideosSkippedBy(long count) => Interlocked.Add(ref _videosSkipped, count);

    internal void ShardDone() => Interlocked.Increment(ref _shardsDone);

    internal void AddDecode(TimeSpan time) => Interlocked.Add(ref _decodeTicks, time.Ticks);

    internal void SecondIntoEncoder() => Interlocked.Increment(ref _secondsIntoEncoder);

    internal void AddEncode(TimeSpan time) => Interlocked.Add(ref _encodeTicks, time.Ticks);

    internal void AddWrite(TimeSpan time) => Interlocked.Add(ref _writeTicks, time.Ticks);
}

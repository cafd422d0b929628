namespace VideoData.Media.Decode;

/// <summary>
/// The output-grid logic of ffmpeg's <c>fps</c> filter with its defaults (round to nearest,
/// <c>eof_action=round</c>, no <c>start_time</c>): the grid starts at the first frame's rounded
/// timestamp; each input frame is emitted on every grid tick before the next frame's rounded
/// timestamp (so gaps repeat frames and surplus frames are dropped), and the last frame until the
/// rounded end-of-stream timestamp. Timestamps are given already rounded to output ticks.
/// Then the CLI's constant-frame-rate output stage (vsync cfr, the default for rawvideo) numbers
/// output frames from 0 at the file's start: when the first grid tick is after 0 the first frame
/// is repeated from 0 (a video that starts after its audio is padded at the front), and grid ticks
/// before −2 are dropped. Output frame n therefore always shows time n/fps of the file.
/// Pure bookkeeping, no pixels: the caller converts a frame only when it is emitted at least once.
/// </summary>
internal sealed class FpsSampler
{
    /// <summary>FFmpeg's AV_NOPTS_VALUE, which av_rescale_q_rnd passes through with AV_ROUND_PASS_MINMAX.</summary>
    public const long NoTimestamp = long.MinValue;

    private bool _hasPending;
    private long _pendingTick;
    private long? _nextTick;
    private bool _outputStarted;

    /// <summary>The grid tick of the first output frame, once known.</summary>
    public long? FirstTick { get; private set; }

    /// <summary>
    /// Adds a frame at output tick <paramref name="tick"/>. Returns how many consecutive output
    /// frames show the previously added frame; that frame is then done and the new one is pending.
    /// </summary>
    public long Push(long tick) => Emit(tick, endOfStream: false);

    /// <summary>End of stream at output tick <paramref name="endTick"/>: how many output frames show the pending frame.</summary>
    public long Finish(long endTick) => Emit(endTick, endOfStream: true);

    private long Emit(long boundary, bool endOfStream)
    {
        var firstTick = 0L;
        if (!_hasPending)
        {
            if (!endOfStream)
            {
                _hasPending = true;
                _pendingTick = boundary;
            }

            return 0;
        }

        var count = 0L;
        if (_nextTick is null && _pendingTick == NoTimestamp)
        {
            // The filter discards leading frames that have no timestamp.
        }
        else
        {
            var next = _nextTick ??= _pendingTick;
            FirstTick ??= next;
            if (boundary != NoTimestamp && boundary > next)
            {
                count = boundary - next;
            }

            firstTick = next;
            _nextTick = next + count;
        }

        _hasPending = !endOfStream;
        _pendingTick = boundary;
        return ConstantRateOutput(count, firstTick);
    }

    /// <summary>The CLI's vsync cfr stage applied to the fps filter's output run [firstTick, firstTick+count).</summary>
    private long ConstantRateOutput(long count, long firstTick)
    {
        if (_outputStarted || count == 0)
        {
            return count;
        }

        _outputStarted = true;
        if (firstTick > 0)
        {
            return count + firstTick;
        }

        var start = Math.Max(firstTick, EarliestKeptTick);
        var end = firstTick + count;
        if (start >= end)
        {
            _outputStarted = false;
            return 0;
        }

        return end - start;
    }

    /// <summary>The CLI drops leading frames more than 1.1 output frames before time 0: ticks −3 and earlier.</summary>
    private const long EarliestKeptTick = -2;
}

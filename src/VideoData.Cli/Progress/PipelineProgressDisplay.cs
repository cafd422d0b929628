using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using VideoData.Pipeline.Run;

namespace VideoData.Cli.Progress;

/// <summary>How progress is shown: a live table on a terminal, one JSON record per interval otherwise (CI, Slurm logs).</summary>
internal enum ProgressMode
{
    Auto,
    Live,
    Json,
    None,
}

/// <summary>
/// Shows a running preprocess: a live Spectre.Console table when interactive, or periodic one-line JSON records
/// (<c>{"event":"progress",...}</c>) when not. Log lines go through <see cref="Log"/> so they interleave cleanly.
/// </summary>
/// <remarks>
/// The streams rule of every command (README, "Output streams"): standard output carries the command's result and
/// its machine-readable records — in JSON mode nothing but one JSON object per line, each with an <c>event</c>
/// (<c>progress</c> records, then one <c>summary</c>); standard error carries everything written for people: log lines,
/// warnings and errors. Only the live table (a terminal, by definition watched by a person) shows log lines in place.
/// </remarks>
internal sealed class PipelineProgressDisplay
{
    private readonly PipelineProgress _progress;
    private readonly ProgressMode _mode;
    private readonly TimeSpan _interval;
    private readonly ConcurrentQueue<string> _recent = new();

    /// <summary>JSON records for logs: no escaping of quotes or non-ASCII beyond what JSON requires.</summary>
    internal static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public PipelineProgressDisplay(PipelineProgress progress, ProgressMode mode, TimeSpan interval)
    {
        _progress = progress;
        _mode = mode == ProgressMode.Auto
            ? (Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is { Length: > 0 } ? ProgressMode.Json : ProgressMode.Live)
            : mode;
        _interval = interval;
    }

    public ProgressMode Mode => _mode;

    public void Log(string line)
    {
        switch (_mode)
        {
            case ProgressMode.Live:
                _recent.Enqueue($"{DateTime.Now:HH:mm:ss} {line}");
                while (_recent.Count > 6 && _recent.TryDequeue(out _))
                {
                }

                break;
            case ProgressMode.Json:
                // Standard output carries only the JSON records (progress, then the summary); log lines are for people and
                // go to standard error, stamped, so a Slurm or CI log still tells when each happened.
                Console.Error.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {line}");
                break;
            default:
                Console.Error.WriteLine(line);
                break;
        }
    }

    /// <summary>Runs <paramref name="work"/> while showing progress; returns its result.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        switch (_mode)
        {
            case ProgressMode.Live:
                T result = default!;
                await AnsiConsole.Live(Render()).AutoClear(false).StartAsync(async context =>
                {
                    var task = work();
                    while (!task.IsCompleted)
                    {
                        await Task.WhenAny(task, Task.Delay(TimeSpan.FromMilliseconds(500))).ConfigureAwait(false);
                        context.UpdateTarget(Render());
                    }

                    context.UpdateTarget(Render());
                    result = await task.ConfigureAwait(false);
                }).ConfigureAwait(false);
                return result;

            case ProgressMode.Json:
                var running = work();
                while (!running.IsCompleted)
                {
                    await Task.WhenAny(running, Task.Delay(_interval)).ConfigureAwait(false);
                    Console.WriteLine(JsonRecord());
                }

                return await running.ConfigureAwait(false);

            default:
                return await work().ConfigureAwait(false);
        }
    }

    private string JsonRecord() => JsonSerializer.Serialize(new
    {
        @event = "progress",
        time = DateTimeOffset.UtcNow,
        videos_total = _progress.VideosTotal,
        videos_done = _progress.VideosDone,
        videos_failed = _progress.VideosFailed,
        videos_skipped = _progress.VideosSkipped,
        shards_done = _progress.ShardsDone,
        shards_total = _progress.ShardsTotal,
        video_seconds_per_second = Math.Round(_progress.VideoSecondsPerSecond, 2),
        decoded_queue = _progress.DecodedQueue,
        encoded_queue = _progress.EncodedQueue,
        seconds_into_encoder = _progress.SecondsIntoEncoder,
        decode_seconds = Math.Round(_progress.DecodeTime.TotalSeconds, 1),
        encode_seconds = Math.Round(_progress.EncodeTime.TotalSeconds, 1),
        write_seconds = Math.Round(_progress.WriteTime.TotalSeconds, 1),
        eta_seconds = _progress.EstimatedRemaining is { } eta ? Math.Round(eta.TotalSeconds) : (double?)null,
    }, JsonOptions);

    private Table Render()
    {
        var p = _progress;
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]videodata preprocess[/]").HideHeaders();
        table.AddColumn("what");
        table.AddColumn("value");
        table.AddRow("videos", $"[green]{p.VideosDone} done[/]  [red]{p.VideosFailed} failed[/]  {p.VideosSkipped} already done  / {p.VideosTotal}");
        table.AddRow("shards", $"{p.ShardsDone} / {p.ShardsTotal}");
        table.AddRow("throughput", $"{p.VideoSecondsPerSecond.ToString("0.00", CultureInfo.InvariantCulture)} video-s/s ({p.SecondsEncoded} s encoded)");
        table.AddRow("queues", $"decoded seconds {p.DecodedQueue}, encoded videos {p.EncodedQueue}");
        table.AddRow("stage time", $"decode {p.DecodeTime:hh\\:mm\\:ss}, encode {p.EncodeTime:hh\\:mm\\:ss}, write {p.WriteTime:hh\\:mm\\:ss}");
        table.AddRow("elapsed / ETA", $"{p.Elapsed:hh\\:mm\\:ss} / {(p.EstimatedRemaining is { } eta ? eta.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "…")}");
        foreach (var line in _recent)
        {
            table.AddRow("[grey]log[/]", Markup.Escape(line));
        }

        return table;
    }
}

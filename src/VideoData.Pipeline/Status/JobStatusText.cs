using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VideoData.Pipeline.Status;

/// <summary>Renders a <see cref="JobStatus"/> as one screen of text or as one JSON document.</summary>
public static class JobStatusText
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The status as one JSON document (snake_case, the same fields as <see cref="JobStatus"/>).</summary>
    public static string ToJson(JobStatus status, bool indented = true) =>
        JsonSerializer.Serialize(status, indented ? Json : new JsonSerializerOptions(Json) { WriteIndented = false });

    /// <summary>Parses what <see cref="ToJson"/> wrote.</summary>
    public static JobStatus FromJson(string json) => JsonSerializer.Deserialize<JobStatus>(json, Json) ?? throw new InvalidDataException("The status document is empty.");

    /// <summary>The status as one screen of text for an operator.</summary>
    public static string Render(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var c = CultureInfo.InvariantCulture;
        var s = status.Shards;
        var v = status.Videos;
        var t = status.Throughput;
        var b = new StringBuilder();
        b.AppendLine(c, $"{status.Output}   at {status.At:yyyy-MM-dd HH:mm:ss}Z   ({status.Requests} storage requests)");
        b.Append(c, $"shards  {s.Done} done, {s.InProgress} in progress ({s.Stale} stale), {(s.NotStarted is { } n ? $"{n} not started" : "not started unknown (no plan.json)")}");
        b.AppendLine(c, $"{(s.Planned is { } p ? $" of {p} planned" : string.Empty)}{(s.Corrupt > 0 ? $", {s.Corrupt} with a corrupt ledger" : string.Empty)}");
        b.Append(c, $"videos  {v.Done} done, {v.Failed} failed, {(v.Pending is { } pending ? $"{pending} pending" : "pending unknown")}");
        b.Append(c, $"{(v.Planned is { } pv ? $" of {pv}" : string.Empty)}; {v.SecondsOfVideo / 3600.0:F1} h of video published");
        b.AppendLine(v.Planned is > 0 ? $"  [{Bar((v.Done + v.Failed) / (double)v.Planned.Value, 30)}] {(v.Done + v.Failed) / (double)v.Planned.Value:P1}" : string.Empty);
        b.AppendLine(c, $"rate    now {t.VideosPerHourNow:F0} videos/h (last {t.WindowSeconds / 60:F0} min), overall {t.VideosPerHourOverall:F0} videos/h = {t.VideoSecondsPerSecondOverall:F2} video-s/s;  ETA {Duration(t.EtaSeconds)}");

        if (status.Failures.Count > 0)
        {
            b.AppendLine();
            b.AppendLine("failures by class");
            foreach (var f in status.Failures)
            {
                b.AppendLine(c, $"  {f.FailureClass,-9} {f.Count,7}");
                foreach (var m in f.TopMessages)
                {
                    b.AppendLine(c, $"      {m.Count,6} × {Truncate(m.Message, 110)}   e.g. {string.Join(", ", m.ExampleVideoIds)}");
                }
            }
        }

        if (status.Workers.Count > 0)
        {
            b.AppendLine();
            b.AppendLine(c, $"workers ({status.Workers.Count} seen)          last seen              held  published  video-s/s");
            foreach (var w in status.Workers.Take(20))
            {
                b.AppendLine(c, $"  {Truncate(w.Worker, 28),-28} {Ago(status.At, w.LastSeen),-22} {w.ShardsHeld,4} {w.ShardsPublished,10} {w.VideoSecondsPerSecond,10:F2}{(w.Stale ? "  STALE (presumed dead)" : string.Empty)}");
            }

            if (status.Workers.Count > 20)
            {
                b.AppendLine(c, $"  … {status.Workers.Count - 20} more (--json lists all)");
            }
        }

        var flagged = status.ShardList.Where(x => x.State is ShardStates.Stale or ShardStates.Corrupt or ShardStates.Partial || x.Note?.Contains("straggler", StringComparison.Ordinal) == true).ToList();
        var running = status.ShardList.Where(x => x.State == ShardStates.Running).ToList();
        if (running.Count > 0 || flagged.Count > 0)
        {
            b.AppendLine();
            b.AppendLine(c, $"in progress: {running.Count} running{(flagged.Count > 0 ? $"; {flagged.Count} need attention:" : string.Empty)}");
            foreach (var x in flagged.Take(15))
            {
                b.AppendLine(c, $"  {x.Name} {x.State,-8} {x.Done + x.Failed}{(x.Videos is { } vv ? $"/{vv}" : string.Empty)} videos, {Duration(x.ElapsedSeconds)}  {x.Note}");
            }

            if (flagged.Count > 15)
            {
                b.AppendLine(c, $"  … {flagged.Count - 15} more (--json lists all)");
            }
        }

        if (status.Problems.Count > 0)
        {
            b.AppendLine();
            b.AppendLine(c, $"problems reading the output ({status.Problems.Count}, not fatal):");
            foreach (var problem in status.Problems.Take(10))
            {
                b.AppendLine(c, $"  {Truncate(problem, 160)}");
            }
        }

        return b.ToString();
    }

    private static string Bar(double fraction, int width)
    {
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        return new string('#', filled) + new string('.', width - filled);
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static string Ago(DateTimeOffset now, DateTimeOffset then) =>
        then == default ? "never" : $"{then:MM-dd HH:mm:ss} ({Duration((now - then).TotalSeconds)} ago)";

    /// <summary>Seconds as <c>2d 03h</c>, <c>4h 05m</c>, <c>12m 30s</c> or <c>42s</c>; "unknown" for null.</summary>
    public static string Duration(double? seconds)
    {
        if (seconds is not { } total || double.IsNaN(total) || double.IsInfinity(total))
        {
            return "unknown";
        }

        var span = TimeSpan.FromSeconds(Math.Max(0, total));
        return span.TotalDays >= 1 ? $"{(int)span.TotalDays}d {span.Hours:D2}h"
            : span.TotalHours >= 1 ? $"{(int)span.TotalHours}h {span.Minutes:D2}m"
            : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m {span.Seconds:D2}s"
            : $"{span.Seconds}s";
    }
}

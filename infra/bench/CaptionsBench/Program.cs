// CaptionsBench: the caption dedup before and after the prefix-function overlap search, side by side in one process.
//   CaptionsBench corpus RAW_CAPTION.JSON
//       cleans every video with the quadratic search (old) and the prefix function (new), prints the time of each and
//       the SHA-256 of all segments of each (they must be equal), then, for dedup modes none, reference and words, how
//       many segments start or end inside a word (a first or last word that is no word of the input).
//   CaptionsBench adversarial FILE.srt
//       reads the SRT, cleans it with the cue cap off, old and new, and prints the time of each (the old one is
//       quadratic: ~n²/2 character comparisons for two n-character cues), and once more with the default cap.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using VideoData.Captions.Cleaning;
using VideoData.Captions.Reading;
using VideoData.Captions.Tests.Cleaning;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: CaptionsBench corpus RAW_CAPTION.JSON | CaptionsBench adversarial FILE.srt");
    return 2;
}

return args[0] switch
{
    "corpus" => Corpus(args[1]),
    "adversarial" => Adversarial(args[1]),
    _ => 2,
};

static int Corpus(string path)
{
    var keep = new CaptionCleaner(new CaptionCleanerOptions { Dedup = DedupMode.None });
    var videos = new List<(string Id, List<TimedText> Kept)>();
    var inputWords = new HashSet<string>(StringComparer.Ordinal);
    using (var stream = File.OpenRead(path))
    {
        foreach (var entry in HowTo100MCaptionReader.Read(stream, path))
        {
            if (entry.IsDamaged)
            {
                continue;
            }

            keep.CleanUntokenized(entry.VideoId, entry.Cues, out var kept);
            foreach (var cue in kept)
            {
                inputWords.UnionWith(cue.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }

            videos.Add((entry.VideoId, kept));
        }
    }

    var cues = videos.Sum(video => (long)video.Kept.Count);
    Console.WriteLine($"videos {videos.Count}, cues {cues}");
    var (oldSeconds, oldHash, oldSegments) = Run(videos, quadratic: true);
    var (newSeconds, newHash, newSegments) = Run(videos, quadratic: false);
    Console.WriteLine($"dedup old (quadratic search): {oldSeconds,8:F2} s  {oldSegments} segments  sha256 {oldHash}");
    Console.WriteLine($"dedup new (linear search):    {newSeconds,8:F2} s  {newSegments} segments  sha256 {newHash}");
    Console.WriteLine($"ratio old/new: {oldSeconds / newSeconds:F2}x");
    var same = oldHash == newHash && oldSegments == newSegments;
    Console.WriteLine(same ? "outputs identical" : "MISMATCH: the two searches disagree");

    Console.WriteLine();
    Console.WriteLine($"{"mode",-10} {"segments",10} {"cut mid-word",14} {"share",8}");
    foreach (var mode in (DedupMode[])[DedupMode.None, DedupMode.Reference, DedupMode.Words])
    {
        long segments = 0, cut = 0;
        foreach (var (id, kept) in videos)
        {
            var coin = new DedupCoin(0, id);
            var output = mode == DedupMode.None ? kept : ReferenceDedup.Apply([.. kept], ref coin, wholeWords: mode == DedupMode.Words);
            foreach (var segment in output)
            {
                segments++;
                var words = segment.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                cut += inputWords.Contains(words[0]) && inputWords.Contains(words[^1]) ? 0 : 1;
            }
        }

        Console.WriteLine($"{CaptionCleanerOptions.DedupName(mode),-10} {segments,10} {cut,14} {100.0 * cut / segments,7:F2}%");
    }

    return same ? 0 : 1;
}

static (double Seconds, string Hash, long Segments) Run(List<(string Id, List<TimedText> Kept)> videos, bool quadratic)
{
    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    long segments = 0;
    var clock = Stopwatch.StartNew();
    var outputs = new List<List<TimedText>>(videos.Count);
    foreach (var (id, kept) in videos)
    {
        var coin = new DedupCoin(0, id);
        outputs.Add(quadratic ? QuadraticDedup.Apply([.. kept], ref coin) : ReferenceDedup.Apply([.. kept], ref coin));
    }

    var seconds = clock.Elapsed.TotalSeconds;
    for (var i = 0; i < videos.Count; i++)
    {
        foreach (var segment in outputs[i])
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{videos[i].Id}\t{segment.Start:R}\t{segment.End:R}\t{segment.Text}\n"));
            segments++;
        }
    }

    return (seconds, Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(), segments);
}

static int Adversarial(string path)
{
    var bytes = new FileInfo(path).Length;
    var clock = Stopwatch.StartNew();
    CaptionTrack track;
    using (var stream = File.OpenRead(path))
    {
        track = CaptionFileReader.Read(stream, path);
    }

    var readSeconds = clock.Elapsed.TotalSeconds;
    var longest = track.Cues.Max(cue => cue.Text?.Length ?? 0);
    Console.WriteLine($"{path}: {bytes} bytes, {track.Cues.Count} cues, longest {longest} characters; read in {readSeconds:F3} s");

    var uncapped = new CaptionCleaner(new CaptionCleanerOptions { MaxCueCharacters = int.MaxValue });
    clock.Restart();
    var cleaned = uncapped.Clean("adversarial", track.Cues);
    var newSeconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"new, cap off:  cleaned (dedup + tokenize) in {newSeconds,9:F3} s -> {cleaned.Segments.Count} segments");

    new CaptionCleaner(new CaptionCleanerOptions { Dedup = DedupMode.None, MaxCueCharacters = int.MaxValue }).CleanUntokenized("adversarial", track.Cues, out var kept);
    clock.Restart();
    var coin = new DedupCoin(0, "adversarial");
    var old = QuadraticDedup.Apply([.. kept], ref coin);
    var oldSeconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"old, cap off:  dedup alone in            {oldSeconds,9:F3} s -> {old.Count} segments");
    clock.Restart();
    var newCoin = new DedupCoin(0, "adversarial");
    var fresh = ReferenceDedup.Apply([.. kept], ref newCoin);
    var newDedupSeconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"new, cap off:  dedup alone in            {newDedupSeconds,9:F3} s -> {fresh.Count} segments");
    Console.WriteLine($"ratio old/new (dedup alone): {oldSeconds / newDedupSeconds:F0}x");

    clock.Restart();
    var capped = new CaptionCleaner().Clean("adversarial", track.Cues);
    Console.WriteLine($"new, default cap ({CaptionCleanerOptions.DefaultMaxCueCharacters}): cleaned in {clock.Elapsed.TotalSeconds:F3} s -> {capped.Segments.Count} segments, {capped.Counts.TruncatedLongText} cues truncated");
    var same = old.Select(segment => (segment.Start, segment.End, segment.Text)).SequenceEqual(fresh.Select(segment => (segment.Start, segment.End, segment.Text)));
    Console.WriteLine(same ? "outputs identical" : "MISMATCH: the two searches disagree");
    return same ? 0 : 1;
}

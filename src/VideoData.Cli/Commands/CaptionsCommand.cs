using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using VideoData.Captions.Cleaning;
using VideoData.Captions.Import;
using VideoData.Captions.Reading;
using VideoData.Captions.Tokenization;
using VideoData.Core.Failures;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata captions show|import</c>: read, clean and tokenize ASR captions.</summary>
internal static class CaptionsCommand
{
    public static Command Create()
    {
        var command = new Command(
            "captions",
            "ASR captions: HowTo100M raw_caption.json (streamed), WebVTT (YouTube rolling captions collapsed) and SRT, "
            + "cleaned with the VideoCLIP reference dedup and tokenized with bert-base-uncased WordPiece.");
        command.Subcommands.Add(CreateShow());
        command.Subcommands.Add(CreateImport());
        return command;
    }

    private static Command CreateShow()
    {
        var input = new Argument<string>("INPUT") { Description = "A caption file: HowTo100M corpus JSON, one video's HowTo100M JSON, WebVTT or SRT. The format is detected from the content, not the extension." };
        var video = new Option<string?>("--video")
        {
            Description = "The video to show from a corpus file (default: every video, each line with a \"video\" field). For a single-video file, the id that seeds the dedup coin (default: the file name without extension).",
        };
        var tokens = new Option<bool>("--tokens") { Description = "Add each segment's bert-base-uncased token ids (first 96 characters, at most 32 ids, no special tokens)." };
        var cleaning = new CleaningFlags();
        var command = new Command("show", "Prints the cleaned caption segments of a file as JSON Lines: start and end (seconds), text, and tokens when asked.")
        {
            input,
            video,
            tokens,
        };
        cleaning.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(input)!;
            return await RunAsync("captions show", path, async () =>
            {
                var cleaner = new CaptionCleaner(cleaning.Options(parseResult), cleaning.Tokenizer(parseResult));
                var withTokens = parseResult.GetValue(tokens);
                var videoId = parseResult.GetValue(video);
                using var stream = File.OpenRead(path);
                var head = new byte[4096];
                var headLength = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                stream.Position = 0;
                using var stdout = Console.OpenStandardOutput();
                if (CaptionFileReader.DetectFormat(head.AsSpan(0, headLength)) == CaptionFormat.HowTo100MCorpus)
                {
                    return await ShowCorpusAsync(stream, path, videoId, cleaner, withTokens, stdout, cancellationToken).ConfigureAwait(false);
                }

                var track = CaptionFileReader.Read(stream, path);
                var cleaned = cleaner.Clean(videoId ?? Path.GetFileNameWithoutExtension(path), track.Cues);
                WriteSegments(stdout, null, cleaned, withTokens);
                return 0;
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> ShowCorpusAsync(Stream stream, string path, string? videoId, CaptionCleaner cleaner, bool withTokens, Stream stdout, CancellationToken cancellationToken)
    {
        var found = false;
        await foreach (var entry in HowTo100MCaptionReader.ReadAsync(stream, path, cancellationToken).ConfigureAwait(false))
        {
            if (videoId is not null && !string.Equals(entry.VideoId, videoId, StringComparison.Ordinal))
            {
                continue;
            }

            found = true;
            if (entry.IsDamaged)
            {
                Console.Error.WriteLine($"videodata captions show: '{path}': video '{entry.VideoId}': {FailureClass.Captions.ToName()}: {entry.Damage}");
                if (videoId is not null)
                {
                    return 1;
                }

                continue;
            }

            WriteSegments(stdout, entry.VideoId, cleaner.Clean(entry.VideoId, entry.Cues), withTokens);
        }

        if (videoId is not null && !found)
        {
            Console.Error.WriteLine($"videodata captions show: '{path}': {FailureClass.Captions.ToName()}: no video '{videoId}' in this corpus file.");
            return 2;
        }

        return 0;
    }

    private static void WriteSegments(Stream stdout, string? videoId, CleanedCaptions cleaned, bool withTokens)
    {
        using var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        foreach (var segment in cleaned.Segments)
        {
            writer.WriteStartObject();
            if (videoId is not null)
            {
                writer.WriteString("video", videoId);
            }

            writer.WriteNumber("start", segment.Start);
            writer.WriteNumber("end", segment.End);
            writer.WriteString("text", segment.Text);
            if (withTokens)
            {
                writer.WriteStartArray("tokens");
                foreach (var id in segment.TokenIds)
                {
                    writer.WriteNumberValue(id);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.Flush();
            stdout.WriteByte((byte)'\n');
            writer.Reset();
        }

        stdout.Flush();
    }

    private static Command CreateImport()
    {
        var input = new Argument<string>("INPUT") { Description = "The HowTo100M raw_caption.json (one object: video id -> {start[], end[], text[]}); read twice as a stream, never loaded whole." };
        var output = new Option<string>("--out")
        {
            Description = "Folder for shard-NNNNN.parquet caption tables, damaged.jsonl and summary.json; created if missing, must not already hold shards.",
            Required = true,
        };
        var shardSize = new Option<int>("--shard-size")
        {
            Description = "Videos per shard; shards follow the preprocessing shard plan (SHA-256 order of the video ids).",
            DefaultValueFactory = _ => CaptionImportOptions.DefaultShardSize,
        };
        var parallelism = new Option<int>("--parallelism")
        {
            Description = "Threads cleaning and tokenizing.",
            DefaultValueFactory = _ => Math.Clamp(Environment.ProcessorCount, 1, 4),
        };
        var cleaning = new CleaningFlags();
        var command = new Command(
            "import",
            "Converts a whole HowTo100M caption file into Parquet caption tables partitioned by the preprocessing shard plan "
            + "(one row per video: video_id, segments[start, end, text, token_ids]) and prints a summary: videos, segments, "
            + "dropped cues by reason and damaged entries (listed in damaged.jsonl). Exits 0 even when some entries are damaged; "
            + "1 when the input cannot be read at all.")
        {
            input,
            output,
            shardSize,
            parallelism,
        };
        cleaning.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(input)!;
            return await RunAsync("captions import", path, async () =>
            {
                var summary = await CaptionImporter.ImportAsync(
                    new CaptionImportOptions
                    {
                        InputPath = path,
                        OutputDirectory = parseResult.GetValue(output)!,
                        ShardSize = parseResult.GetValue(shardSize),
                        Parallelism = parseResult.GetValue(parallelism),
                        Cleaner = cleaning.Options(parseResult),
                        Tokenizer = cleaning.Tokenizer(parseResult),
                    },
                    cancellationToken).ConfigureAwait(false);
                using var stdout = Console.OpenStandardOutput();
                using (var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
                {
                    CaptionImporter.WriteSummary(writer, summary);
                }

                stdout.WriteByte((byte)'\n');
                foreach (var entry in summary.Damaged.Take(10))
                {
                    Console.Error.WriteLine($"damaged: '{entry.VideoId}': {FailureClass.Captions.ToName()}: {entry.Reason}");
                }

                if (summary.Damaged.Count > 10)
                {
                    Console.Error.WriteLine($"damaged: … {summary.Damaged.Count - 10} more in damaged.jsonl");
                }

                return 0;
            }).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Runs a subcommand, turning bad input into one line naming the input and the failure class.</summary>
    private static async Task<int> RunAsync(string name, string input, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (VideoDataException error)
        {
            // The message already names the input.
            Console.Error.WriteLine($"videodata {name}: {error.FailureClass.ToName()}: {error.Message}");
            return 1;
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"videodata {name}: '{input}': {FailureClass.Fetch.ToName()}: {error.Message}");
            return 1;
        }
        catch (Exception error) when (error is InvalidDataException or IOException)
        {
            Console.Error.WriteLine($"videodata {name}: '{input}': {FailureClass.Captions.ToName()}: {error.Message}");
            return 1;
        }
        catch (ArgumentException error)
        {
            Console.Error.WriteLine($"videodata {name}: invalid option: {error.Message}");
            return 2;
        }
    }

    /// <summary>The cleanup and tokenizer options shared by show and import.</summary>
    private sealed class CleaningFlags
    {
        private readonly Option<string> _dedup = new("--dedup")
        {
            Description = "reference: the VideoCLIP dedup of overlapping captions (its coin flip seeded by --seed and the video id); "
                + "words: the same, merging overlaps only where they are whole words (no segment cut inside a word); none: keep segments as read.",
            DefaultValueFactory = _ => "reference",
        };

        private readonly Option<ulong> _seed = new("--seed") { Description = "Seed of the reference dedup's coin flips.", DefaultValueFactory = _ => 0UL };

        private readonly Option<bool> _normalize = new("--normalize")
        {
            Description = "Also decode HTML entities, apply Unicode NFC and collapse whitespace runs. Off by default: only newlines become spaces, as in the reference.",
        };

        private readonly Option<bool> _removeMarkers = new("--remove-markers") { Description = "Remove non-speech markers such as [Music], [Applause] and >>." };

        private readonly Option<int> _maxCueChars = new("--max-cue-chars")
        {
            Description = "Longest cue text kept (UTF-16 code units); longer texts are cut to it and counted.",
            DefaultValueFactory = _ => CaptionCleanerOptions.DefaultMaxCueCharacters,
        };

        private readonly Option<string?> _vocabulary = new("--vocab") { Description = "BERT WordPiece vocabulary file (one token per line); default: the embedded bert-base-uncased vocabulary." };

        public CleaningFlags()
        {
            _dedup.AcceptOnlyFromAmong("reference", "words", "none");
        }

        public void AddTo(Command command)
        {
            command.Options.Add(_dedup);
            command.Options.Add(_seed);
            command.Options.Add(_normalize);
            command.Options.Add(_removeMarkers);
            command.Options.Add(_maxCueChars);
            command.Options.Add(_vocabulary);
        }

        public CaptionCleanerOptions Options(ParseResult parseResult) => new()
        {
            Dedup = CaptionCleanerOptions.ParseDedup(parseResult.GetValue(_dedup)!),
            Seed = parseResult.GetValue(_seed),
            Normalize = parseResult.GetValue(_normalize),
            RemoveNonSpeechMarkers = parseResult.GetValue(_removeMarkers),
            MaxCueCharacters = parseResult.GetValue(_maxCueChars),
        };

        public BertWordPieceTokenizer? Tokenizer(ParseResult parseResult)
        {
            var path = parseResult.GetValue(_vocabulary);
            if (path is null)
            {
                return null;
            }

            try
            {
                return BertWordPieceTokenizer.FromFile(path);
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                throw new ArgumentException($"--vocab '{path}': {error.Message}", error);
            }
        }
    }
}

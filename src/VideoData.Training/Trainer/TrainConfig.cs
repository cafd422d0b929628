using System.Text.Json;
using System.Text.Json.Serialization;
using VideoData.Core.Configuration;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;

namespace VideoData.Training.Trainer;

/// <summary>
/// A training pipeline file (<c>pipelines/videoclip-*.json</c>): JSON with comments, snake_case keys.
/// Unknown keys are errors, so a typo never silently falls back to a default.
/// </summary>
internal sealed record TrainConfig
{
    // The shared configuration options (ConfigurationJson), plus the named floating-point literals some settings accept.
    internal static readonly JsonSerializerOptions JsonOptions = new(ConfigurationJson.Options)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Name of the run, for logs.</summary>
    public string Name { get; init; } = "videoclip";

    /// <summary>Output folder: plans, checkpoints, log.</summary>
    public string Output { get; init; } = "out/train";

    /// <summary>Run seed.</summary>
    public long Seed { get; init; }

    /// <summary>Epochs to train.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Videos per batch.</summary>
    public int BatchVideos { get; init; } = 32;

    /// <summary><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>libtorch intra-op threads for training (0: one per core); a resumed run repeats an uninterrupted one exactly on the same count.</summary>
    public int Threads { get; init; }

    /// <summary>Where the videos come from.</summary>
    public DataSection Data { get; init; } = new();

    /// <summary>Clip sampler parameters (reference defaults).</summary>
    public SamplerSection Sampler { get; init; } = new();

    /// <summary>Batch assembly and prefetch.</summary>
    public StreamerSection Streamer { get; init; } = new();

    /// <summary>Model preset and overrides.</summary>
    public ModelSection Model { get; init; } = new();

    /// <summary>Optimizer and schedule.</summary>
    public OptimizerSection Optimizer { get; init; } = new();

    /// <summary>Checkpointing.</summary>
    public CheckpointSection Checkpoint { get; init; } = new();

    /// <summary>Held-out evaluation.</summary>
    public EvalSection Eval { get; init; } = new();

    /// <summary>Retrieval-augmented (clustered) plans between epochs; off means a fresh shuffle per epoch.</summary>
    public RetrievalSection Retrieval { get; init; } = new();

    /// <summary>TAN-style caption re-timing between epochs; off (the reference behaviour) trains on the captions as they are.</summary>
    public AlignmentSection Alignment { get; init; } = new();

    /// <summary>Reads and validates a config file; errors name the file and the problem.</summary>
    public static TrainConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Training config '{path}' does not exist.", path);
        }

        TrainConfig config;
        try
        {
            config = JsonSerializer.Deserialize<TrainConfig>(File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidDataException($"Training config '{path}' is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Training config '{path}': {ex.Message}", ex);
        }

        try
        {
            config.ToTrainerOptions();
            config.Data.Validate();
            config.Alignment.ToOptions();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"Training config '{path}': {ex.Message}", ex);
        }

        return config;
    }

    /// <summary>The trainer options this config describes (device left for the caller to resolve).</summary>
    public TrainerOptions ToTrainerOptions() => new TrainerOptions
    {
        Model = Model.ToOptions(),
        Streamer = new BatchStreamerOptions
        {
            Sampler = Sampler.ToOptions(Model.ToOptions().FeatureDim),
            Assemblers = Streamer.Assemblers,
            PrefetchDepth = Streamer.PrefetchDepth,
            TokenDropout = Streamer.TokenDropout,
        },
        BatchVideos = BatchVideos,
        Seed = Seed,
        Epochs = Epochs,
        LearningRate = Optimizer.Lr,
        Beta1 = Optimizer.Beta1,
        Beta2 = Optimizer.Beta2,
        Epsilon = Optimizer.Eps,
        WeightDecay = Optimizer.WeightDecay,
        WarmupSteps = Optimizer.WarmupSteps,
        DecaySteps = Optimizer.DecaySteps,
        ClipNorm = Optimizer.ClipNorm,
        CheckpointEverySteps = Checkpoint.EverySteps,
        KeepCheckpoints = Checkpoint.Keep,
        OutputDirectory = Output,
        EvalVideos = Eval.Videos,
        Threads = Threads,
    }.Validate();

    /// <summary><c>data</c>: feature shards, or a synthetic corpus when <see cref="Shards"/> is null.</summary>
    public sealed record DataSection
    {
        /// <summary>Folder (or URI) of feature shards; null uses <see cref="Synthetic"/>.</summary>
        public string? Shards { get; init; }

        /// <summary>Held-out videos taken from the shards for evaluation (the ids whose hash sorts first).</summary>
        public int HeldOutVideos { get; init; } = 1000;

        /// <summary>Memory for decoded videos read from the shards (8 GiB); later epochs are served from it.</summary>
        public long CacheBytes { get; init; } = 8L << 30;

        /// <summary>Local folder for decoded videos beyond <see cref="CacheBytes"/>, or null for none.</summary>
        public string? DiskCache { get; init; }

        /// <summary>The synthetic corpus used when no shards are given.</summary>
        public SyntheticSection Synthetic { get; init; } = new();

        internal void Validate()
        {
            if (CacheBytes < 0)
            {
                throw new ArgumentException($"data.cache_bytes = {CacheBytes} must not be negative.", nameof(CacheBytes));
            }

            if (HeldOutVideos < 0)
            {
                throw new ArgumentException($"data.held_out_videos = {HeldOutVideos} must not be negative.", nameof(HeldOutVideos));
            }

            Synthetic.Validate();
        }
    }

    /// <summary><c>data.synthetic</c>: a corpus whose features are a fixed function of its caption tokens.</summary>
    public sealed record SyntheticSection
    {
        /// <summary>Training videos.</summary>
        public int Videos { get; init; } = 256;

        /// <summary>Held-out videos (a separate corpus with the same word vectors).</summary>
        public int HeldOutVideos { get; init; } = 64;

        /// <summary>Distinct words in the corpus.</summary>
        public int VocabularySize { get; init; } = 100;

        /// <summary>Words per video's topic.</summary>
        public int WordsPerVideo { get; init; } = 6;

        /// <summary>Shortest video, seconds.</summary>
        public int MinSeconds { get; init; } = 20;

        /// <summary>Longest video, seconds.</summary>
        public int MaxSeconds { get; init; } = 60;

        /// <summary>Corpus seed.</summary>
        public long Seed { get; init; }

        /// <summary>Fraction of the training videos' caption segments moved 2–6 s off the seconds they describe (0); held-out captions stay true.</summary>
        public double ShiftFraction { get; init; }

        /// <summary>Fraction of the training videos' caption segments replaced by words the video does not show (0); held-out captions stay true.</summary>
        public double UnrelatedFraction { get; init; }

        /// <summary>The generator options for training (<c>held</c> = false) or held-out videos.</summary>
        public SyntheticCorpusOptions ToOptions(int featureDim, bool heldOut) => new()
        {
            Videos = heldOut ? HeldOutVideos : Videos,
            FeatureDim = featureDim,
            VocabularySize = VocabularySize,
            WordsPerVideo = WordsPerVideo,
            MinSeconds = MinSeconds,
            MaxSeconds = MaxSeconds,
            Seed = Seed,
            IdPrefix = heldOut ? "heldout" : "train",
            ShiftFraction = heldOut ? 0 : ShiftFraction,
            UnrelatedFraction = heldOut ? 0 : UnrelatedFraction,
        };

        internal void Validate()
        {
            if (Videos < 1 || HeldOutVideos < 0)
            {
                throw new ArgumentException($"data.synthetic.videos = {Videos} must be positive and held_out_videos = {HeldOutVideos} not negative.", nameof(Videos));
            }

            if (!(ShiftFraction is >= 0 and <= 1) || !(UnrelatedFraction is >= 0 and <= 1) || ShiftFraction + UnrelatedFraction > 1)
            {
                throw new ArgumentException(
                    $"data.synthetic.shift_fraction = {ShiftFraction} and unrelated_fraction = {UnrelatedFraction} must each be in [0, 1] and sum to at most 1.", nameof(ShiftFraction));
            }
        }
    }

    /// <summary><c>sampler</c>: the overlapped clip sampler; the names follow the reference's config keys.</summary>
    public sealed record SamplerSection
    {
        /// <summary>Clips per video (16).</summary>
        public int ClipPerVideo { get; init; } = 16;

        /// <summary>Text budget lower bound, tokens (8).</summary>
        public int SampledMinLen { get; init; } = 8;

        /// <summary>Text budget upper bound, tokens (64).</summary>
        public int SampledMaxLen { get; init; } = 64;

        /// <summary>Video length lower bound, seconds (3).</summary>
        public int SampledVideoMinLen { get; init; } = 3;

        /// <summary>Video length upper bound, seconds (32).</summary>
        public int SampledVideoMaxLen { get; init; } = 32;

        /// <summary>Video tokens per clip (32).</summary>
        public int MaxVideoLen { get; init; } = 32;

        /// <summary>Caption length with specials and padding (64).</summary>
        public int CaptionLen { get; init; } = 64;

        /// <summary>Text span limit, seconds (256).</summary>
        public double MaxTextSpanSeconds { get; init; } = 256;

        /// <summary>The sampler options.</summary>
        public ClipSamplerOptions ToOptions(int featureDim) => new()
        {
            ClipsPerVideo = ClipPerVideo,
            MinTextTokens = SampledMinLen,
            MaxTextTokens = SampledMaxLen,
            MinVideoSeconds = SampledVideoMinLen,
            MaxVideoSeconds = SampledVideoMaxLen,
            MaxVideoTokens = MaxVideoLen,
            CaptionLength = CaptionLen,
            MaxTextSpanSeconds = MaxTextSpanSeconds,
            FeatureDim = featureDim,
        };
    }

    /// <summary><c>streamer</c>: batch assembly.</summary>
    public sealed record StreamerSection
    {
        /// <summary>Concurrent batch assemblers (2).</summary>
        public int Assemblers { get; init; } = 2;

        /// <summary>Batches kept ready ahead of the trainer (4).</summary>
        public int PrefetchDepth { get; init; } = 4;

        /// <summary>Fraction of each training clip's video seconds dropped at batch assembly, in [0, 1) (0: none, the reference).</summary>
        public double TokenDropout { get; init; }
    }

    /// <summary><c>model</c>: a preset (<c>tiny</c> or <c>reference</c>) and optional per-size overrides.</summary>
    public sealed record ModelSection
    {
        /// <summary><c>tiny</c> or <c>reference</c>.</summary>
        public string Preset { get; init; } = "reference";

        /// <summary>Overrides the preset's feature width.</summary>
        public int? FeatureDim { get; init; }

        /// <summary>Overrides the hidden width.</summary>
        public int? Hidden { get; init; }

        /// <summary>Overrides the video transformer depth.</summary>
        public int? VideoLayers { get; init; }

        /// <summary>Overrides the text transformer depth.</summary>
        public int? TextLayers { get; init; }

        /// <summary>Overrides the head count.</summary>
        public int? Heads { get; init; }

        /// <summary>Overrides the feed-forward width.</summary>
        public int? FeedForward { get; init; }

        /// <summary>Overrides the dropout.</summary>
        public double? Dropout { get; init; }

        /// <summary>The model options.</summary>
        public VideoClipModelOptions ToOptions()
        {
            var preset = Preset switch
            {
                "tiny" => VideoClipModelOptions.Tiny,
                "reference" => VideoClipModelOptions.Reference,
                _ => throw new ArgumentException($"model.preset = '{Preset}' is not 'tiny' or 'reference'.", nameof(Preset)),
            };
            return preset with
            {
                FeatureDim = FeatureDim ?? preset.FeatureDim,
                Hidden = Hidden ?? preset.Hidden,
                VideoLayers = VideoLayers ?? preset.VideoLayers,
                TextLayers = TextLayers ?? preset.TextLayers,
                Heads = Heads ?? preset.Heads,
                FeedForward = FeedForward ?? preset.FeedForward,
                Dropout = Dropout ?? preset.Dropout,
            };
        }
    }

    /// <summary><c>optimizer</c>: Adam with warm-up and clipping (reference defaults).</summary>
    public sealed record OptimizerSection
    {
        /// <summary>Peak learning rate (5e-5).</summary>
        public double Lr { get; init; } = 5e-5;

        /// <summary>Adam β1 (0.9).</summary>
        public double Beta1 { get; init; } = 0.9;

        /// <summary>Adam β2 (0.98).</summary>
        public double Beta2 { get; init; } = 0.98;

        /// <summary>Adam ε (1e-8).</summary>
        public double Eps { get; init; } = 1e-8;

        /// <summary>Weight decay (0).</summary>
        public double WeightDecay { get; init; }

        /// <summary>Warm-up steps (1000).</summary>
        public int WarmupSteps { get; init; } = 1000;

        /// <summary>Linear decay to 0 at this step; 0 = constant (0).</summary>
        public int DecaySteps { get; init; }

        /// <summary>Gradient clip norm (2.0).</summary>
        public double ClipNorm { get; init; } = 2.0;
    }

    /// <summary><c>checkpoint</c>.</summary>
    public sealed record CheckpointSection
    {
        /// <summary>Checkpoint every N global steps, and at each epoch end (1000).</summary>
        public int EverySteps { get; init; } = 1000;

        /// <summary>Checkpoints kept (3).</summary>
        public int Keep { get; init; } = 3;
    }

    /// <summary><c>eval</c>.</summary>
    public sealed record EvalSection
    {
        /// <summary>Held-out clips for R@1/R@5 per epoch (1000); 0 disables.</summary>
        public int Videos { get; init; } = 1000;
    }

    /// <summary><c>alignment</c>: re-align the training captions with the current model before epochs (see <c>Alignment/README.md</c>).</summary>
    public sealed record AlignmentSection
    {
        /// <summary>Whether captions are re-aligned between epochs.</summary>
        public bool Enabled { get; init; }

        /// <summary>Re-align before every epoch e ≥ 1 with e % every == 0 (1).</summary>
        public int Every { get; init; } = 1;

        /// <summary>W: whole-second offsets in [−W, W] are tried (8).</summary>
        public int WindowSeconds { get; init; } = 8;

        /// <summary>Segments scoring below this are dropped, except each video's best (0.3, a cosine).</summary>
        public double Threshold { get; init; } = 0.3;

        /// <summary>The planner options this section describes; throws <see cref="ArgumentException"/> naming a bad key.</summary>
        public VideoData.Training.Alignment.TrainingAlignmentOptions ToOptions() => new VideoData.Training.Alignment.TrainingAlignmentOptions
        {
            Every = Every,
            Alignment = new VideoData.Training.Alignment.AlignmentOptions { WindowSeconds = WindowSeconds, Threshold = Threshold },
        }.Validate();
    }

    /// <summary><c>retrieval</c>: clustered plans between epochs. Keys beyond <c>enabled</c> belong to the planner that reads them.</summary>
    public sealed record RetrievalSection
    {
        /// <summary>Whether the next epoch's plan is clustered (retrieval-augmented) instead of shuffled.</summary>
        public bool Enabled { get; init; }

        /// <summary>The planner's own settings, kept as JSON for it to read.</summary>
        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Settings { get; init; }
    }
}

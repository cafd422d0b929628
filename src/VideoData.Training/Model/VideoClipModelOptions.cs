namespace VideoData.Training.Model;

/// <summary>
/// Sizes of the VideoCLIP-shaped model. <see cref="Reference"/> is the published shape (DESIGN §3);
/// <see cref="Tiny"/> trains on two CPU cores in seconds. Validated when a model is built.
/// </summary>
internal sealed record VideoClipModelOptions
{
    /// <summary>The reference shape: 512-d features, 768 hidden, 6 video layers, 12 text layers (BERT-base), 12 heads.</summary>
    public static VideoClipModelOptions Reference { get; } = new();

    /// <summary>A tiny shape for tests and CPU smoke runs: 64 hidden, 1 video layer, 2 text layers, 4 heads.</summary>
    public static VideoClipModelOptions Tiny { get; } = new()
    {
        Hidden = 64,
        VideoLayers = 1,
        TextLayers = 2,
        Heads = 4,
        FeedForward = 128,
        Dropout = 0.1,
    };

    /// <summary>Width of an input feature row.</summary>
    public int FeatureDim { get; init; } = 512;

    /// <summary>Hidden width of both towers (768).</summary>
    public int Hidden { get; init; } = 768;

    /// <summary>Transformer layers over the video tokens (6).</summary>
    public int VideoLayers { get; init; } = 6;

    /// <summary>Transformer layers of the BERT-shaped text tower (12).</summary>
    public int TextLayers { get; init; } = 12;

    /// <summary>Attention heads per layer (12); must divide <see cref="Hidden"/>.</summary>
    public int Heads { get; init; } = 12;

    /// <summary>Feed-forward width inside each layer (3072).</summary>
    public int FeedForward { get; init; } = 3072;

    /// <summary>Dropout probability in embeddings and layers (0.1).</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>Token vocabulary size (30522, bert-base-uncased).</summary>
    public int VocabularySize { get; init; } = 30522;

    /// <summary>Longest caption sequence (64).</summary>
    public int MaxCaptionLength { get; init; } = 64;

    /// <summary>Most video tokens per clip (32).</summary>
    public int MaxVideoTokens { get; init; } = 32;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public VideoClipModelOptions Validate()
    {
        Check(FeatureDim >= 1, nameof(FeatureDim), FeatureDim, "must be at least 1");
        Check(Hidden >= 1, nameof(Hidden), Hidden, "must be at least 1");
        Check(VideoLayers >= 1, nameof(VideoLayers), VideoLayers, "must be at least 1");
        Check(TextLayers >= 1, nameof(TextLayers), TextLayers, "must be at least 1");
        Check(Heads >= 1 && Hidden % Heads == 0, nameof(Heads), Heads, $"must be positive and divide Hidden ({Hidden})");
        Check(FeedForward >= 1, nameof(FeedForward), FeedForward, "must be at least 1");
        Check(Dropout is >= 0 and < 1, nameof(Dropout), Dropout, "must be in [0, 1)");
        Check(VocabularySize >= 103, nameof(VocabularySize), VocabularySize, "must cover the special ids up to [SEP] = 102");
        Check(MaxCaptionLength >= 4, nameof(MaxCaptionLength), MaxCaptionLength, "must be at least 4");
        Check(MaxVideoTokens >= 1, nameof(MaxVideoTokens), MaxVideoTokens, "must be at least 1");
        return this;
    }

    private static void Check(bool ok, string name, object value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"Model option {name} = {value} {rule}.", name);
        }
    }
}

namespace VideoData.Media.Decode;

/// <summary>
/// The reference's resize and crop: the shorter display side becomes <c>size</c>, the other
/// ⌊long·size/short⌋; then a size×size crop at ⌊(w−size)/2⌋, ⌊(h−size)/2⌋ (ffmpeg's crop default).
/// </summary>
internal readonly record struct ScaleGeometry(int ScaledWidth, int ScaledHeight, int CropX, int CropY, int Size)
{
    public static ScaleGeometry For(int displayWidth, int displayHeight, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(displayWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(displayHeight);
        int width, height;
        if (displayWidth <= displayHeight)
        {
            width = size;
            height = (int)((long)displayHeight * size / displayWidth);
        }
        else
        {
            height = size;
            width = (int)((long)displayWidth * size / displayHeight);
        }

        return new ScaleGeometry(width, height, (width - size) / 2, (height - size) / 2, size);
    }

    /// <summary>The equivalent ffmpeg filter chain after resampling, for comparisons with the CLI.</summary>
    public string FilterChain(int fps) => $"fps={fps},scale={ScaledWidth}:{ScaledHeight},crop={Size}:{Size}";
}

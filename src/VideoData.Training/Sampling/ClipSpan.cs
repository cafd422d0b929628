namespace VideoData.Training.Sampling;

/// <summary>
/// Where one clip lies in its video: the video span <c>[VideoStart, VideoEnd)</c> in seconds (feature rows)
/// and the text span <c>[TextStart, TextEnd)</c> in caption segment indices — the reference's
/// <c>video_start</c>, <c>video_end</c>, <c>text_start</c>, <c>text_end</c>.
/// </summary>
public readonly record struct ClipSpan(int VideoStart, int VideoEnd, int TextStart, int TextEnd)
{
    /// <summary>Seconds of video in the clip.</summary>
    public int VideoLength => VideoEnd - VideoStart;
}

/// <summary>How the video span relates to the text span.</summary>
public enum ClipAlignment
{
    /// <summary>VideoCLIP pretraining: a random video length around a random point of the text span (the default).</summary>
    Overlapped,

    /// <summary>The video span is the text span's seconds, <c>[floor(text start), ceil(text end))</c>: for embedding videos.</summary>
    Aligned,
}

namespace VideoData.Captions.Cleaning;

/// <summary>A cue being cleaned: validated times and normalized, non-empty text.</summary>
internal struct TimedText(double start, double end, string text)
{
    public double Start = start;
    public double End = end;
    public string Text = text;
}

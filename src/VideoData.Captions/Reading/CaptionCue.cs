namespace VideoData.Captions.Reading;

/// <summary>
/// One caption cue as read from a file, before cleanup: times in seconds from the start of the
/// video, and the text with markup tags removed (entities and whitespace as in the source).
/// </summary>
/// <param name="Start">Start time in seconds; may be negative or non-finite in damaged input (the cleaner repairs or drops it).</param>
/// <param name="End">End time in seconds; may be before <paramref name="Start"/> in damaged input.</param>
/// <param name="Text">The text, or <see langword="null"/> when the source held a non-string value (HowTo100M JSON), which the cleaner drops as the reference does.</param>
public sealed record CaptionCue(double Start, double End, string? Text);

using System.Text;
using VideoData.Core.Failures;

namespace VideoData.Captions.Reading;

/// <summary>Detects a caption file's format from its content and reads single-video files.</summary>
public static class CaptionFileReader
{
    /// <summary>Largest single-video caption file read (64 MiB); corpus files are streamed instead.</summary>
    public const int MaxSingleFileBytes = 64 << 20;

    /// <summary>
    /// The format of the content that starts with <paramref name="head"/> (the first few KB are
    /// enough), or <see langword="null"/> when it is none of them. File extensions are not consulted.
    /// </summary>
    public static CaptionFormat? DetectFormat(ReadOnlySpan<byte> head)
    {
        // The UTF-8 byte-order mark, as bytes (a "\xEF\xBB\xBF"u8 literal would be the UTF-8 of three Latin-1 characters).
        ReadOnlySpan<byte> byteOrderMark = [0xEF, 0xBB, 0xBF];
        if (head.StartsWith(byteOrderMark))
        {
            head = head[byteOrderMark.Length..];
        }

        // WebVTT must start with its signature; a file that does so after white space is still meant as WebVTT and is
        // refused by the WebVTT parser with that reason, rather than read leniently as something else.
        head = head.TrimStart(" \t\r\n"u8);
        if (head.StartsWith("WEBVTT"u8))
        {
            return CaptionFormat.WebVtt;
        }

        if (head.StartsWith("{"u8))
        {
            // A video file's first key is start/end/text with an array value; a corpus key is a video id with an object value.
            var afterBrace = head[1..].TrimStart(" \t\r\n"u8);
            foreach (var key in (ReadOnlySpan<string>)["\"start\"", "\"end\"", "\"text\""])
            {
                if (afterBrace.StartsWith(Encoding.ASCII.GetBytes(key)) && afterBrace[key.Length..].TrimStart(" \t\r\n:"u8).StartsWith("["u8))
                {
                    return CaptionFormat.HowTo100MVideo;
                }
            }

            return CaptionFormat.HowTo100MCorpus;
        }

        var text = Encoding.UTF8.GetString(head);
        foreach (var line in TextLines.Split(text).Take(12))
        {
            if (CueTime.TryParseTiming(line, out _, out _))
            {
                return CaptionFormat.Srt;
            }
        }

        return null;
    }

    /// <summary>
    /// Reads one video's captions from a WebVTT, SRT or single-video HowTo100M JSON file, detecting
    /// the format from the content. Throws <see cref="VideoDataException"/> of class
    /// <see cref="FailureClass.Captions"/> naming <paramref name="sourceName"/> when the content is
    /// not readable, or is a whole corpus (read those with <see cref="HowTo100MCaptionReader"/>).
    /// </summary>
    public static CaptionTrack Read(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = ReadBounded(stream, sourceName);
        var format = DetectFormat(bytes.AsSpan(0, Math.Min(bytes.Length, 4096)))
            ?? throw new VideoDataException(FailureClass.Captions, $"'{sourceName}': not a caption file (expected WebVTT, SRT or HowTo100M JSON).");
        try
        {
            return format switch
            {
                CaptionFormat.WebVtt => WebVttParser.Parse(Decode(bytes)),
                CaptionFormat.Srt => SrtParser.Parse(Decode(bytes)),
                CaptionFormat.HowTo100MVideo => ParseVideoJson(bytes),
                _ => throw new VideoDataException(FailureClass.Captions,
                    $"'{sourceName}': this is a HowTo100M corpus file (video id → captions); read it with the corpus reader or name a video."),
            };
        }
        catch (FormatException error)
        {
            throw new VideoDataException(FailureClass.Captions, $"'{sourceName}': {error.Message}.", error);
        }
    }

    private static CaptionTrack ParseVideoJson(byte[] bytes)
    {
        ReadOnlySpan<byte> byteOrderMark = [0xEF, 0xBB, 0xBF];
        var content = bytes.AsSpan();
        if (content.StartsWith(byteOrderMark))
        {
            content = content[byteOrderMark.Length..];
        }

        var cues = HowTo100MEntryParser.TryParse(content, out var unpaired, out var damage)
            ?? throw new FormatException(damage);
        return new CaptionTrack(CaptionFormat.HowTo100MVideo, cues, unpaired);
    }

    private static string Decode(byte[] bytes) => new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(bytes);

    private static byte[] ReadBounded(Stream stream, string sourceName)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            if (buffer.Length + read > MaxSingleFileBytes)
            {
                throw new VideoDataException(FailureClass.Captions, $"'{sourceName}': larger than {MaxSingleFileBytes} bytes, too large for one video's captions.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}

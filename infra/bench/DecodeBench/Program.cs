// DecodeBench THREADS FILE...: decodes every file concurrently in this process with the reference
// sampling (30 fps, 224 crop, CPU decoder, THREADS decoder threads each) and prints the total
// number of output frames. Timing is done by the calling script (whole process).
using VideoData.Media.Decode;

if (args.Length < 2 || !int.TryParse(args[0], out var threads))
{
    Console.Error.WriteLine("usage: DecodeBench THREADS FILE...");
    return 2;
}

var options = new DecodeOptions { Decoder = DecoderPreference.Cpu, Threads = threads };
var counts = await Task.WhenAll(args.Skip(1).Select(async path =>
{
    long frames = 0;
    await foreach (var chunk in VideoDecoder.DecodeAsync(path, options))
    {
        using (chunk)
        {
            frames += chunk.FrameCount;
        }
    }

    return frames;
}));
Console.WriteLine($"frames={counts.Sum()}");
return 0;

// DecodeBench THREADS FILE...: decodes every file concurrently in this process with the reference
// sampling (30 fps, 224 crop, CPU decoder, THREADS decoder threads each), consuming every chunk as the
// pipeline does: a consumer reads all of its pixels (here into a checksum, as the CLI side of the
// benchmark pipes every byte into `wc -c`). Prints the total number of output frames and the
// checksum. Timing is done by the calling script (whole process).
using System.Numerics;
using System.Runtime.InteropServices;
using VideoData.Media.Decode;

if (args.Length < 2 || !int.TryParse(args[0], out var threads))
{
    Console.Error.WriteLine("usage: DecodeBench THREADS FILE...");
    return 2;
}

var options = new DecodeOptions { Decoder = DecoderPreference.Cpu, Threads = threads };
var results = await Task.WhenAll(args.Skip(1).Select(async path =>
{
    long frames = 0;
    ulong checksum = 0;
    await foreach (var chunk in VideoDecoder.DecodeAsync(path, options))
    {
        using (chunk)
        {
            frames += chunk.FrameCount;
            checksum ^= Fold(chunk.Pixels);
        }
    }

    return (Frames: frames, Checksum: checksum);
}));
Console.WriteLine($"frames={results.Sum(r => r.Frames)}");
Console.WriteLine($"checksum={results.Aggregate(0UL, (all, r) => unchecked(all + r.Checksum)):x16}");
return 0;

// XOR of every 8-byte word (and the tail bytes): touches each byte once, vectorised.
static ulong Fold(ReadOnlySpan<byte> pixels)
{
    var words = MemoryMarshal.Cast<byte, ulong>(pixels);
    var vectors = MemoryMarshal.Cast<ulong, Vector<ulong>>(words);
    var accumulator = Vector<ulong>.Zero;
    foreach (var vector in vectors)
    {
        accumulator ^= vector;
    }

    var result = 0UL;
    for (var i = 0; i < Vector<ulong>.Count; i++)
    {
        result ^= accumulator[i];
    }

    for (var i = vectors.Length * Vector<ulong>.Count; i < words.Length; i++)
    {
        result ^= words[i];
    }

    for (var i = words.Length * sizeof(ulong); i < pixels.Length; i++)
    {
        result ^= pixels[i];
    }

    return result;
}

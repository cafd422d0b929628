using System.Diagnostics;
using System.Globalization;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;

// Usage: StorageBench ENDPOINT s3://bucket/key read
//        StorageBench ENDPOINT s3://bucket/key seek COUNT READ_BYTES
//        StorageBench ENDPOINT s3://bucket/key write LOCAL_FILE
// Credentials come from the standard AWS chain (the bench script exports the local server's keys).
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: StorageBench ENDPOINT s3://bucket/key read | seek COUNT READ_BYTES | write LOCAL_FILE");
    return 2;
}

var options = S3StoreOptions.ForCompatibleServer(new Uri(args[0]));
using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
var (store, key) = resolver.Resolve(args[1]);
var clock = Stopwatch.StartNew();
switch (args[2])
{
    case "read":
    {
        await using var stream = await store.OpenReadAsync(key);
        var buffer = new byte[1 << 20];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(FormattableString.Invariant($"read bytes={total} seconds={seconds:F3} MiB/s={total / seconds / (1 << 20):F1} requests={resolver.Counters.Requests} retries={resolver.Counters.Retries}"));
        break;
    }

    case "seek":
    {
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        var size = int.Parse(args[4], CultureInfo.InvariantCulture);
        await using var stream = await store.OpenReadAsync(key);
        var afterOpen = resolver.Counters.Requests;
        var random = new Random(1);
        var buffer = new byte[size];
        for (var i = 0; i < count; i++)
        {
            stream.Position = random.NextInt64(Math.Max(1, stream.Length - size));
            await stream.ReadExactlyAsync(buffer);
        }

        var requests = resolver.Counters.Requests - afterOpen;
        Console.WriteLine(FormattableString.Invariant($"seek seeks={count} read_bytes={size} seconds={clock.Elapsed.TotalSeconds:F3} requests={requests} requests_per_seek={(double)requests / count:F2} open_requests={afterOpen}"));
        break;
    }

    case "write":
    {
        await store.WriteFileAsync(key, args[3]);
        var seconds = clock.Elapsed.TotalSeconds;
        var bytes = new FileInfo(args[3]).Length;
        Console.WriteLine(FormattableString.Invariant($"write bytes={bytes} seconds={seconds:F3} MiB/s={bytes / seconds / (1 << 20):F1} requests={resolver.Counters.Requests}"));
        break;
    }

    default:
        Console.Error.WriteLine($"unknown mode '{args[2]}'");
        return 2;
}

return 0;

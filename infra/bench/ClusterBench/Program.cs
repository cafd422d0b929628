// Driver for infra/bench/cluster.sh. Reads the vectors and query rows the FAISS peer reads (raw little-endian
// float32 [N, d] and int32 [Q]), runs our exact search (K neighbours besides the query, L2), writes the
// neighbour rows as int32 [Q, K], and prints RESULT lines. Also times the bare matrix products of the same
// tiles (libtorch addmm_, no top-k) so the selection's share of the time is visible.
//   ClusterBench search VECTORS QUERIES N D K THREADS OUT [QUERY_TILE DATABASE_TILE]
//   ClusterBench embeddings VECTORS N D OUT.parquet   the same vectors as an embeddings file for `videodata cluster` (1 vs 2 ranks)
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using VideoData.Training.Retrieval;
using static TorchSharp.torch;

if (args.Length == 5 && args[0] == "embeddings")
{
    var count = int.Parse(args[2], CultureInfo.InvariantCulture);
    var dimension = int.Parse(args[3], CultureInfo.InvariantCulture);
    var values = new float[(long)count * dimension];
    using (var file = File.OpenRead(args[1]))
    {
        file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    var names = Enumerable.Range(0, count).Select(i => i.ToString("D8", CultureInfo.InvariantCulture)).ToArray();
    await EmbeddingsFile.WriteAsync(VideoEmbeddings.Create(names, values, dimension, new EmbeddingLineage("bench")), args[4]);
    return 0;
}

if (args.Length < 8 || args[0] != "search")
{
    Console.Error.WriteLine("usage: ClusterBench search VECTORS QUERIES N D K THREADS OUT [QUERY_TILE DATABASE_TILE]");
    return 2;
}

var n = int.Parse(args[3], CultureInfo.InvariantCulture);
var d = int.Parse(args[4], CultureInfo.InvariantCulture);
var k = int.Parse(args[5], CultureInfo.InvariantCulture);
var threads = int.Parse(args[6], CultureInfo.InvariantCulture);
int? queryTile = args.Length > 8 ? int.Parse(args[8], CultureInfo.InvariantCulture) : null;
int? databaseTile = args.Length > 9 ? int.Parse(args[9], CultureInfo.InvariantCulture) : null;

var vectors = new float[(long)n * d];
using (var file = File.OpenRead(args[1]))
{
    file.ReadExactly(MemoryMarshal.AsBytes(vectors.AsSpan()));
}

var queryBytes = File.ReadAllBytes(args[2]);
var queries = MemoryMarshal.Cast<byte, int>(queryBytes).ToArray();

// Zero-padded ids sort in row order, so row i of the file is row i of the set (no reordering copy).
var ids = new string[n];
for (var i = 0; i < n; i++)
{
    ids[i] = i.ToString("D8", CultureInfo.InvariantCulture);
}

var embeddings = VideoEmbeddings.Create(ids, vectors, d, new EmbeddingLineage("bench"));
var options = new NearestNeighbourOptions { K = k, Threads = threads, QueryTileRows = queryTile, DatabaseTileRows = databaseTile };

// One small warm-up search loads libtorch and JITs the scan outside the timed run.
ExactNearestNeighbours.Search(embeddings, queries[..Math.Min(queries.Length, 64)], new NearestNeighbourOptions { K = k, Threads = threads });

// Wall time, and the process's CPU time: on a shared machine the latter is the steadier figure.
var process = Process.GetCurrentProcess();
var cpu = process.TotalProcessorTime;
var clock = Stopwatch.StartNew();
var table = ExactNearestNeighbours.Search(embeddings, queries, options);
var searchSeconds = clock.Elapsed.TotalSeconds;
process.Refresh();
var searchCpu = (process.TotalProcessorTime - cpu).TotalSeconds;

var result = new int[queries.Length * k];
for (var q = 0; q < queries.Length; q++)
{
    table.Neighbours(q).CopyTo(result.AsSpan(q * k, k));
}

using (var output = File.Create(args[7]))
{
    output.Write(MemoryMarshal.AsBytes(result.AsSpan()));
}

// The floor: the same products, tile by tile and worker by worker as the search does them (one libtorch thread
// per worker), without selecting anything.
var qt = Math.Min(queries.Length, queryTile ?? 256);
var dt = Math.Min(n, databaseTile ?? 1024);
var queryData = new float[(long)queries.Length * d];
for (var q = 0; q < queries.Length; q++)
{
    embeddings.Vector(queries[q]).CopyTo(queryData.AsSpan(q * d, d));
}

var queryTiles = (queries.Length + qt - 1) / qt;
var tiles = new System.Collections.Concurrent.ConcurrentBag<Tensor>();
process.Refresh();
cpu = process.TotalProcessorTime;
clock.Restart();
using (var scope = torch.NewDisposeScope())
{
    var queryTensor = torch.tensor(queryData, [queries.Length, d]);
    for (var start = 0; start < n; start += dt)
    {
        using var block = torch.NewDisposeScope();
        var rows = Math.Min(dt, n - start);
        var database = torch.frombuffer(vectors, ScalarType.Float32, (long)rows * d, (long)start * d).view(rows, d).t();
        Parallel.For(0, queryTiles, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            if (!tiles.TryTake(out var tile))
            {
                tile = torch.empty(qt, dt);
                tile.DetachFromDisposeScope();
            }

            var q = t * qt;
            var count = Math.Min(qt, queries.Length - q);
            var before = torch.get_num_threads();
            torch.set_num_threads(1);
            using (var view = tile.narrow(0, 0, count).narrow(1, 0, rows))
            using (var part = queryTensor.narrow(0, q, count))
            {
                view.addmm_(part, database, 0f, -2f);
            }

            torch.set_num_threads(before);

            tiles.Add(tile);
        });
    }
}

var gemmSeconds = clock.Elapsed.TotalSeconds;
process.Refresh();
var gemmCpu = (process.TotalProcessorTime - cpu).TotalSeconds;
var flops = 2.0 * queries.Length * n * d;
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"RESULT search_s={searchSeconds:F3} search_cpu_s={searchCpu:F3} gemm_only_s={gemmSeconds:F3} gemm_only_cpu_s={gemmCpu:F3} gflops={flops / searchSeconds / 1e9:F1} gemm_gflops={flops / gemmSeconds / 1e9:F1} threads={torch.get_num_threads()} tiles={qt}x{dt}"));
return 0;

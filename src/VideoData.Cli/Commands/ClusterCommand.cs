using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using VideoData.Shards;
using VideoData.Training.Distributed;
using VideoData.Training.Plans;
using VideoData.Training.Retrieval;
using VideoData.Training.Sampling;

namespace VideoData.Cli.Commands;

/// <summary>
/// <c>videodata cluster</c>: writes a clustered (retrieval-augmented) batch plan from per-video embeddings;
/// <c>videodata cluster inspect</c>: shows one batch of a plan to a person.
/// </summary>
internal static class ClusterCommand
{
    public static Command Create()
    {
        var embeddings = new Option<FileInfo?>("--embeddings")
        {
            Description = "Embeddings Parquet file: video_id (string) and vector (list<float32>, one length), as written by `videodata train` "
                + "(OUTPUT/embeddings/) or by any trainer. Give this or --from-features.",
        };
        var fromFeatures = new Option<DirectoryInfo?>("--from-features")
        {
            Description = "Use the mean of each video's frozen features (epoch 0, before there is a model) from the feature shards in this folder "
                + "(its shards/ subfolder when it has one, else its *.parquet files).",
        };
        var output = new Option<string>("--out") { Description = "The plan file to write (Parquet: batch, position, video_id): a path, or an object URI such as s3://bucket/run/plans/epoch-0003.parquet.", Required = true, HelpName = "FILE|URI" };
        var k = new Option<int>("--k")
        {
            Description = "Neighbours per query, not counting the query (DESIGN §3: 64). The reference's num_cands 64 counts the query; --k 63 reproduces it.",
            DefaultValueFactory = _ => 64,
        };
        var batchVideos = new Option<int>("--batch-videos") { Description = "Videos per batch; the plan has ⌊N / this⌋ batches.", DefaultValueFactory = _ => 32 };
        var seed = new Option<long>("--seed") { Description = "Run seed; with --epoch it decides the queries and each batch's random cut.", DefaultValueFactory = _ => 0 };
        var epoch = new Option<int>("--epoch") { Description = "The epoch the plan is for (0-based).", DefaultValueFactory = _ => 0 };
        var metric = new Option<string>("--metric") { Description = "l2 (the reference's) or cosine.", DefaultValueFactory = _ => "l2" };
        metric.AcceptOnlyFromAmong("l2", "cosine");
        var device = new Option<string>("--device") { Description = "Where the distance products run: cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var budget = new Option<string>("--memory-budget")
        {
            Description = "Memory the search may hold beyond the embeddings (queries, one database tile, the distance tile, the running top-k), e.g. 4GiB, 512MiB; tile sizes follow from it.",
            DefaultValueFactory = _ => "4GiB",
        };
        var threads = new Option<int?>("--threads") { Description = "CPU threads for the search (default: libtorch's choice, one per core)." };
        var writeEmbeddings = new Option<string?>("--write-embeddings") { Description = "Also write the embeddings used (useful with --from-features): a path or an object URI.", HelpName = "FILE|URI" };
        var json = new Option<bool>("--json") { Description = "Print one JSON summary on stdout (rank 0 only) and the human-readable lines on stderr." };
        var collectiveTimeout = new Option<int>("--collective-timeout")
        {
            Description = "Under mpirun: seconds one MPI collective may wait for the other ranks before the whole job is ended with an error.",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => (int)Collectives.DefaultTimeout.TotalSeconds,
        };

        var command = new Command(
            "cluster",
            "Writes the next epoch's clustered batch plan (DESIGN §3): ⌊N/B⌋ query videos drawn without replacement from (seed, epoch), "
            + "the exact k nearest neighbours of each among all N videos (tiled matrix products with a running top-k, ties broken by video id), "
            + "each batch the query plus its neighbours, cut to a random B when larger. Under `mpirun -np N` every rank reads the embeddings, searches "
            + "its share of the queries, and rank 0 writes the plan (the same plan as one process). Examples:\n"
            + "  videodata cluster --embeddings out/train/embeddings/embeddings-epoch-0002.parquet --out plans/epoch-0003.parquet --epoch 3 --seed 1\n"
            + "  mpirun -np 8 videodata cluster --embeddings E --out plans/epoch-0003.parquet --epoch 3 --seed 1 --json")
        {
            embeddings, fromFeatures, output, k, batchVideos, seed, epoch, metric, device, budget, threads, writeEmbeddings, json, collectiveTimeout,
        };
        command.Subcommands.Add(CreateInspect());
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var embeddingsFile = parseResult.GetValue(embeddings);
            var featuresFolder = parseResult.GetValue(fromFeatures);
            var input = embeddingsFile?.FullName ?? featuresFolder?.FullName ?? "(no input)";
            try
            {
                if ((embeddingsFile is null) == (featuresFolder is null))
                {
                    throw new ArgumentException("give exactly one of --embeddings FILE and --from-features FOLDER.");
                }

                var options = new ClusteredPlanOptions
                {
                    BatchVideos = parseResult.GetValue(batchVideos),
                    Seed = parseResult.GetValue(seed),
                    Epoch = parseResult.GetValue(epoch),
                    Neighbours = new NearestNeighbourOptions
                    {
                        K = parseResult.GetValue(k),
                        Metric = ClusteredEpochPlannerOptions.ParseMetric(parseResult.GetValue(metric)),
                        Device = parseResult.GetValue(device)!,
                        MemoryBudgetBytes = NearestNeighbourOptions.ParseBytes(parseResult.GetValue(budget)!),
                        Threads = parseResult.GetValue(threads),
                    },
                };
                var asJson = parseResult.GetValue(json);
                var human = asJson ? Console.Error : Console.Out;
                var timeoutSeconds = parseResult.GetValue(collectiveTimeout);
                if (timeoutSeconds < 1)
                {
                    throw new ArgumentException($"--collective-timeout {timeoutSeconds} must be at least 1 second.");
                }

                // Outputs are parsed before the work: a malformed URI fails in a second, not after the search.
                using var outputs = new CommandOutputs();
                _ = outputs.Target(parseResult.GetValue(output)!);
                var clock = Stopwatch.StartNew();
                var vectors = embeddingsFile is not null
                    ? await EmbeddingsFile.ReadAsync(embeddingsFile.FullName, cancellationToken).ConfigureAwait(false)
                    : await VideoEmbedder.FromFeatureShardsAsync(ShardFiles(featuresFolder!), cancellationToken).ConfigureAwait(false);
                var read = clock.Elapsed;

                // Opened once the input is read: a bad input fails every rank alike, before any collective.
                var collective = Collectives.Open(TimeSpan.FromSeconds(timeoutSeconds));
                try
                {
                    if (collective.Rank == 0 && parseResult.GetValue(writeEmbeddings) is { } keep)
                    {
                        await EmbeddingsFile.WriteAsync(vectors, outputs.Target(keep), cancellationToken).ConfigureAwait(false);
                    }

                    collective.Barrier();
                    clock.Restart();
                    var plan = ClusteredPlans.Build(vectors, options, collective, cancellationToken);
                    var search = clock.Elapsed;
                    // Rank 0 reports every rank's search time: the per-rank rate the scale estimates start from.
                    var times = collective.Gather(BitConverter.GetBytes(search.TotalSeconds), 0)?.Select(b => BitConverter.ToDouble(b)).ToArray();
                    var target = outputs.Target(parseResult.GetValue(output)!);
                    var path = target.Name;
                    if (collective.Rank == 0)
                    {
                        await BatchPlan.WriteAsync(plan, target, cancellationToken).ConfigureAwait(false);
                        human.WriteLine(string.Create(
                            CultureInfo.InvariantCulture,
                            $"cluster: {vectors.Count} videos × {vectors.Dimension}-d ({vectors.Lineage}) read in {read.TotalSeconds:F1} s; "
                            + $"{plan.Batches.Count} queries, k {options.Neighbours.K}, {parseResult.GetValue(metric)} on {options.Neighbours.Device} "
                            + $"in {search.TotalSeconds:F1} s{(collective.WorldSize > 1 ? $" on {collective.WorldSize} ranks (slowest rank {times!.Max():F1} s)" : string.Empty)}; "
                            + $"plan for epoch {plan.Epoch} → {path}"));
                        if (asJson)
                        {
                            Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                            {
                                command = "cluster",
                                videos = vectors.Count,
                                dimension = vectors.Dimension,
                                queries = plan.Batches.Count,
                                k = options.Neighbours.K,
                                metric = parseResult.GetValue(metric),
                                device = options.Neighbours.Device,
                                epoch = plan.Epoch,
                                seed = options.Seed,
                                world_size = collective.WorldSize,
                                collective = collective.Description,
                                read_s = read.TotalSeconds,
                                search_s = search.TotalSeconds,
                                rank_search_s = times,
                                plan = path,
                            }));
                        }
                    }

                    // Nobody leaves (and finalizes MPI) before the plan is published.
                    collective.Barrier();
                }
                catch (Exception ex) when (collective.WorldSize > 1)
                {
                    Console.Error.WriteLine($"videodata cluster: {input}: rank {collective.Rank} of {collective.WorldSize} failed, ending every rank: {ex.GetType().Name}: {ex.Message}");
                    collective.Abort(2);
                    throw;
                }

                collective.Dispose();
                return 0;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return CommandFailures.Report("cluster", input, ex, 2);
            }
        });
        return command;
    }

    private static Command CreateInspect()
    {
        var plan = new Argument<FileInfo>("plan") { Description = "A batch plan file (clustered or shuffled)." };
        var batch = new Option<int>("--batch") { Description = "Which batch to show (0-based).", Required = true };
        var embeddings = new Option<FileInfo?>("--embeddings") { Description = "The embeddings the similarities are measured in (an embeddings Parquet file)." };
        var features = new Option<DirectoryInfo?>("--features")
        {
            Description = "Feature shard folder: the source of the caption lines, and of the embeddings (mean frozen features) when --embeddings is not given.",
        };
        var lines = new Option<int>("--captions") { Description = "Caption lines to show per video.", DefaultValueFactory = _ => 3 };
        var command = new Command(
            "inspect",
            "Shows one batch of a plan: its videos with a few caption lines each, each video's mean cosine similarity to the rest of the batch, "
            + "and the batch's mean pairwise cosine similarity next to that of a random batch of the same size, so a person can see what the hard negatives look like. "
            + "Example: videodata cluster inspect plans/epoch-0003.parquet --batch 7 --embeddings embeddings.parquet --features out/demo")
        {
            plan, batch, embeddings, features, lines,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var planFile = parseResult.GetValue(plan)!;
            try
            {
                var loaded = await BatchPlan.ReadAsync(planFile.FullName, cancellationToken).ConfigureAwait(false);
                var index = parseResult.GetValue(batch);
                if (index < 0 || index >= loaded.Batches.Count)
                {
                    throw new ArgumentException($"--batch {index} is outside the plan's {loaded.Batches.Count} batches (0..{loaded.Batches.Count - 1}).");
                }

                var videos = loaded.Batches[index];
                var shardFolder = parseResult.GetValue(features);
                var shards = shardFolder is null ? [] : ShardFiles(shardFolder);
                VideoEmbeddings? vectors = parseResult.GetValue(embeddings) is { } file
                    ? await EmbeddingsFile.ReadAsync(file.FullName, cancellationToken).ConfigureAwait(false)
                    : shards.Count > 0 ? await VideoEmbedder.FromFeatureShardsAsync(shards, cancellationToken).ConfigureAwait(false) : null;
                var captions = await CaptionsAsync(shards, videos, parseResult.GetValue(lines), cancellationToken).ConfigureAwait(false);

                Console.WriteLine($"plan {planFile.FullName}: epoch {loaded.Epoch}, {loaded.Kind}, {loaded.Batches.Count} batches of {loaded.BatchVideos} ({loaded.Source})");
                if (vectors is null)
                {
                    Console.WriteLine($"batch {index}: {videos.Count} videos (give --embeddings or --features for similarities)");
                }
                else
                {
                    var mean = BatchSimilarity.MeanPairwiseCosine(vectors, videos);
                    var random = RandomBatchSimilarity(vectors, videos.Count, loaded.Seed, loaded.Epoch, index);
                    Console.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"batch {index}: {videos.Count} videos, mean pairwise cosine similarity {mean:F3} (a random {videos.Count} of the same {vectors.Count} videos: {random:F3}; embeddings {vectors.Lineage})"));
                }

                for (var i = 0; i < videos.Count; i++)
                {
                    var id = videos[i];
                    var toRest = vectors is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"  (similarity to the rest {ToRest(vectors, videos, i):F3})");
                    Console.WriteLine($"{i + 1,3}. {id}{toRest}");
                    if (captions.TryGetValue(id, out var text))
                    {
                        foreach (var line in text)
                        {
                            Console.WriteLine($"       {line}");
                        }
                    }
                    else if (shards.Count > 0)
                    {
                        Console.WriteLine("       (not in the feature shards)");
                    }
                }

                return 0;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return CommandFailures.Report("cluster inspect", planFile.FullName, ex, 2);
            }
        });
        return command;
    }

    /// <summary>The feature shard files of a preprocessing output folder (its shards/ subfolder) or of a folder of shards.</summary>
    private static List<string> ShardFiles(DirectoryInfo folder)
    {
        if (!folder.Exists)
        {
            throw new DirectoryNotFoundException($"feature folder '{folder.FullName}' does not exist.");
        }

        var shards = Path.Combine(folder.FullName, "shards");
        var files = Directory.GetFiles(Directory.Exists(shards) ? shards : folder.FullName, "*.parquet").Order(StringComparer.Ordinal).ToList();
        return files.Count > 0 ? files : throw new FileNotFoundException($"feature folder '{folder.FullName}' holds no *.parquet shards (looked in {(Directory.Exists(shards) ? shards : folder.FullName)}).");
    }

    private static async Task<Dictionary<string, List<string>>> CaptionsAsync(List<string> shards, IReadOnlyList<string> videos, int lines, CancellationToken cancellationToken)
    {
        var wanted = videos.ToHashSet(StringComparer.Ordinal);
        var found = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var path in shards)
        {
            var reader = await FeatureShardReader.OpenAsync(path, cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                foreach (var id in wanted.Where(reader.Contains).ToList())
                {
                    var record = await reader.ReadVideoAsync(id, cancellationToken).ConfigureAwait(false);
                    found[id] = record.Captions.Count == 0
                        ? ["(no captions)"]
                        : record.Captions.Take(lines).Select(c => string.Create(CultureInfo.InvariantCulture, $"[{TimeSpan.FromSeconds(c.Start):mm\\:ss}] {c.Text}")).ToList();
                    wanted.Remove(id);
                }
            }
        }

        return found;
    }

    private static double ToRest(VideoEmbeddings vectors, IReadOnlyList<string> videos, int i)
    {
        var others = videos.Where((_, j) => j != i).ToList();
        return others.Average(other => BatchSimilarity.MeanPairwiseCosine(vectors, [videos[i], other]));
    }

    /// <summary>The mean pairwise similarity of a seeded random batch of the same size: what "no clustering" looks like.</summary>
    private static double RandomBatchSimilarity(VideoEmbeddings vectors, int size, long seed, int epoch, int batch)
    {
        var ids = vectors.VideoIds.ToArray();
        var random = DeterministicRandom.For(seed, epoch, "cluster.inspect.baseline", batch.ToString(CultureInfo.InvariantCulture));
        var take = Math.Min(size, ids.Length);
        for (var i = 0; i < take; i++)
        {
            var j = random.NextInt(i, ids.Length - 1);
            (ids[i], ids[j]) = (ids[j], ids[i]);
        }

        return BatchSimilarity.MeanPairwiseCosine(vectors, ids[..take]);
    }
}

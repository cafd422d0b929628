using VideoData.Shards;

namespace VideoData.Reports.Corpus;

/// <summary>How healthy a sample of feature rows looks, in numbers and in words.</summary>
/// <param name="Videos">Videos in the sample.</param>
/// <param name="SecondNorms">L2 norm of every per-second feature row in the sample.</param>
/// <param name="MeanCosine">Per video: the mean cosine similarity of its mean feature to every other sampled video's.</param>
/// <param name="Level">ok, warn or bad.</param>
/// <param name="Verdict">What the numbers say, in words.</param>
internal sealed record FeatureHealth(int Videos, IReadOnlyList<double> SecondNorms, IReadOnlyList<double> MeanCosine, string Level, string Verdict)
{
    /// <summary>Median cross-video cosine above which the features are called collapsed (videos indistinguishable).</summary>
    public const double CollapsedCosine = 0.95;

    /// <summary>Relative spread of the per-second norms below which unnormalized features are called constant.</summary>
    public const double ConstantNormSpread = 1e-4;

    /// <summary>Measures <paramref name="sample"/>; <paramref name="randomWeights"/> comes from the shards' lineage.</summary>
    public static FeatureHealth Measure(IReadOnlyList<FeatureRecord> sample, bool randomWeights)
    {
        var rows = sample.Where(r => r.Seconds > 0 && r.Dim > 0).ToList();
        var norms = new List<double>();
        var means = new List<double[]>();
        foreach (var record in rows)
        {
            var mean = new double[record.Dim];
            for (var s = 0; s < record.Seconds; s++)
            {
                var row = record.Features.AsSpan(s * record.Dim, record.Dim);
                double sum = 0;
                for (var d = 0; d < row.Length; d++)
                {
                    sum += (double)row[d] * row[d];
                    mean[d] += row[d] / record.Seconds;
                }

                norms.Add(Math.Sqrt(sum));
            }

            means.Add(mean);
        }

        var unit = means.Select(Normalize).ToList();
        var cosines = new List<double>();
        for (var i = 0; i < unit.Count; i++)
        {
            if (unit.Count < 2)
            {
                break;
            }

            double total = 0;
            for (var j = 0; j < unit.Count; j++)
            {
                if (j != i)
                {
                    total += Dot(unit[i], unit[j]);
                }
            }

            cosines.Add(total / (unit.Count - 1));
        }

        var (level, verdict) = Judge(rows.Count, norms, cosines, randomWeights);
        return new FeatureHealth(rows.Count, norms, cosines, level, verdict);
    }

    private static (string Level, string Verdict) Judge(int videos, List<double> norms, List<double> cosines, bool randomWeights)
    {
        var words = new List<string>();
        var level = "ok";
        if (randomWeights)
        {
            level = "bad";
            words.Add("The encoder ran with RANDOM weights (the shards' lineage says so): these features are not meaningful, whatever the plots below look like. Preprocess with encoder.weights = s3d_howto100m.pth.");
        }

        if (videos < 2)
        {
            words.Add($"Only {videos} video(s) with features in the sample: too few to judge whether the features are collapsed.");
            return (randomWeights ? level : "warn", string.Join(' ', words));
        }

        var median = Median(cosines);
        var meanNorm = norms.Average();
        var spread = Math.Sqrt(norms.Average(n => (n - meanNorm) * (n - meanNorm))) / Math.Max(meanNorm, 1e-12);
        if (meanNorm < 1e-6)
        {
            level = "bad";
            words.Add("The features are all zero: the encoder produced nothing.");
        }
        else if (median > CollapsedCosine)
        {
            level = "bad";
            words.Add($"The features look COLLAPSED: the median video's mean feature has cosine similarity {median:F3} with the other videos' (above {CollapsedCosine}), so videos are nearly indistinguishable. A collapsed or untrained encoder, or identical input frames, gives this.");
        }
        else if (median > 0.8)
        {
            level = level == "bad" ? level : "warn";
            words.Add($"The features are very alike across videos (median cross-video cosine {median:F3}); real S3D-G features of varied videos are usually less similar.");
        }
        else
        {
            words.Add($"The features vary across videos (median cross-video cosine {median:F3}, per-second norms {meanNorm:F3} ± {spread * meanNorm:F3}): nothing suggests a collapsed encoder.");
        }

        if (meanNorm >= 1e-6 && spread < ConstantNormSpread && Math.Abs(meanNorm - 1) > 1e-3)
        {
            level = "bad";
            words.Add("Every per-second feature has the same norm although the features are not L2-normalized: the encoder's output looks constant.");
        }

        return (level, string.Join(' ', words));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static double[] Normalize(double[] v)
    {
        var norm = Math.Sqrt(Dot(v, v));
        return norm == 0 ? v : v.Select(x => x / norm).ToArray();
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}

using Parquet;
using Parquet.Schema;
using VideoData.Training.Retrieval;

namespace VideoData.Training.Tests.Retrieval;

public sealed class EmbeddingsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-embeddings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task WriteAsync_ThenReadAsync_RoundTripsVectorsIdsAndLineage()
    {
        // 40,000 rows span three row groups; input ids are shuffled, the set sorts them.
        var original = RetrievalTestData.Blobs(40_000, 8, clusters: 3, seed: 4).Embeddings;
        var lineaged = VideoEmbeddings.Create(original.VideoIds, original.Vectors.ToArray(), 8, new EmbeddingLineage(EmbeddingSources.Model, "ckpt/epoch-3.bin", 3));
        var path = Path.Combine(_dir, "embeddings.parquet");

        await EmbeddingsFile.WriteAsync(lineaged, path);
        var read = await EmbeddingsFile.ReadAsync(path);

        Assert.Equal(lineaged.VideoIds, read.VideoIds);
        Assert.Equal(lineaged.Vectors.ToArray(), read.Vectors.ToArray());
        Assert.Equal(8, read.Dimension);
        Assert.Equal(new EmbeddingLineage(EmbeddingSources.Model, "ckpt/epoch-3.bin", 3), read.Lineage);
        Assert.Empty(Directory.GetFiles(_dir, VideoData.Core.IO.OutputFile.TemporaryPrefix + "*"));
    }

    [Fact]
    public async Task WriteAsync_IsReadableByDuckDb()
    {
        var embeddings = VideoEmbeddings.Create(["b", "a"], [3, 4, 1, 2], 2, new EmbeddingLineage(EmbeddingSources.FrozenFeatures, Epoch: 0));
        var path = Path.Combine(_dir, "e.parquet");
        await EmbeddingsFile.WriteAsync(embeddings, path);

        var json = await DuckDb.QueryJsonAsync(
            $"SELECT video_id, vector[1] AS x, vector[2] AS y, len(vector) AS n FROM read_parquet('{path}') ORDER BY video_id",
            $"SELECT key::VARCHAR AS k, value::VARCHAR AS v FROM parquet_kv_metadata('{path}') ORDER BY k");

        var rows = json[0].EnumerateArray().ToList();
        Assert.Equal(["a", "b"], rows.Select(r => r.GetProperty("video_id").GetString()));
        Assert.Equal([1.0, 3.0], rows.Select(r => r.GetProperty("x").GetDouble()));
        Assert.Equal([2.0, 4.0], rows.Select(r => r.GetProperty("y").GetDouble()));
        var meta = json[1].EnumerateArray().ToDictionary(r => r.GetProperty("k").GetString()!, r => r.GetProperty("v").GetString()!);
        Assert.Equal("frozen-features", meta["videodata.embeddings.source"]);
        Assert.Equal("0", meta["videodata.embeddings.epoch"]);
        Assert.Equal("2", meta["videodata.embeddings.dimension"]);
    }

    [Fact]
    public async Task ReadAsync_FileFromAnotherWriterWithoutLineage_ReadsAsExternal()
    {
        var path = Path.Combine(_dir, "outside.parquet");
        await WriteRawAsync(path, ["x", "y", "z"], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]);

        var read = await EmbeddingsFile.ReadAsync(path);

        Assert.Equal(EmbeddingsFile.ExternalSource, read.Lineage.Source);
        Assert.Equal(3, read.Dimension);
        Assert.Equal([4f, 5f, 6f], read.Vector(read.IndexOf("y")).ToArray());
    }

    [Fact]
    public async Task ReadAsync_RaggedVectors_ThrowsNamingFileAndVideo()
    {
        var path = Path.Combine(_dir, "ragged.parquet");
        await WriteRawAsync(path, ["x", "y"], [[1, 2, 3], [4, 5]]);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => EmbeddingsFile.ReadAsync(path));
        Assert.Contains("ragged.parquet", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'y'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_DuplicateIdOrNaN_ThrowsNamingTheVideo()
    {
        var duplicate = Path.Combine(_dir, "dup.parquet");
        await WriteRawAsync(duplicate, ["x", "x"], [[1, 2], [3, 4]]);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => EmbeddingsFile.ReadAsync(duplicate));
        Assert.Contains("'x' appears more than once", ex.Message, StringComparison.Ordinal);

        var nan = Path.Combine(_dir, "nan.parquet");
        await WriteRawAsync(nan, ["x", "y"], [[1, 2], [float.NaN, 4]]);
        ex = await Assert.ThrowsAsync<InvalidDataException>(() => EmbeddingsFile.ReadAsync(nan));
        Assert.Contains("'y'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("non-finite", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_MissingOrNotParquet_ThrowsNamingTheFile()
    {
        await Assert.ThrowsAsync<FileNotFoundException>(() => EmbeddingsFile.ReadAsync(Path.Combine(_dir, "none.parquet")));
        var garbage = Path.Combine(_dir, "garbage.parquet");
        await File.WriteAllTextAsync(garbage, "not parquet at all");
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => EmbeddingsFile.ReadAsync(garbage));
        Assert.Contains("garbage.parquet", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NoVectorColumn_ThrowsNamingTheColumn()
    {
        var path = Path.Combine(_dir, "ids-only.parquet");
        var id = new DataField<string>("video_id", nullable: false);
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id), stream))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(id, new[] { "a" });
        }

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => EmbeddingsFile.ReadAsync(path));
        Assert.Contains("'vector'", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Writes the two columns with Parquet.Net directly, as another tool would: any lengths, no metadata.</summary>
    private static async Task WriteRawAsync(string path, string[] ids, float[][] vectors)
    {
        var id = new DataField<string>("video_id", nullable: false);
        var element = new DataField<float>("element", nullable: false);
        var schema = new ParquetSchema(id, new ListField("vector", element));
        var values = vectors.SelectMany(v => v).ToArray();
        var levels = vectors.SelectMany(v => v.Select((_, i) => i == 0 ? 0 : 1)).ToArray();
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(id, (IReadOnlyCollection<string>)ids);
        var defined = Enumerable.Repeat(element.MaxDefinitionLevel, values.Length).ToArray();
        await group.WriteAllPartsAsync<float>(element, values, defined, levels, CancellationToken.None);
    }
}

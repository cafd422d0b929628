using System.Buffers.Binary;
using VideoData.Shards;

namespace VideoData.Shards.Tests.FeatureShards;

/// <summary>Runs alone: the tests measure what the process allocates while a hostile shard is opened.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ShardMemoryCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Feature shard memory";
}

/// <summary>
/// Shards whose Parquet footer claims huge arrays (issue 18): a real shard's footer is rewritten (Thrift compact
/// protocol, walked field by field) to declare huge value counts, row counts or chunk sizes; opening it must fail with
/// an error naming the file, having allocated far less than the claim.
/// </summary>
[Collection(ShardMemoryCollection.Name)]
public sealed class FeatureShardBoundsTests : IDisposable
{
    private static readonly ShardLineage s_lineage = new() { WeightsSha256 = new string('b', 64) };
    private readonly string _dir = Directory.CreateTempSubdirectory("vd-shard-bounds-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // FileMetaData.row_groups (4) → RowGroup.columns (1) → ColumnChunk.meta_data (3) → ColumnMetaData.num_values (5);
    // RowGroup.num_rows (3); ColumnMetaData.total_compressed_size (7).
    public static TheoryData<string, long, string> Claims => new()
    {
        { "num_values", 1L << 40, "over the budget" },
        { "num_rows", 1L << 40, "rows" },
        { "total_compressed_size", 1L << 40, "outside the" },
    };

    [Theory]
    [MemberData(nameof(Claims))]
    public async Task OpenAsync_FooterClaimingHugeArrays_RefusedNamingTheFileWithBoundedMemory(string field, long claim, string expected)
    {
        var path = await WriteShardAsync($"{field}.parquet");
        PatchFooter(path, field, claim);
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await using var reader = await FeatureShardReader.OpenAsync(path);
            await reader.ReadAllAsync().ToListAsync();
        });

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes for a claim of {claim}");
    }

    [Fact]
    public async Task OpenAsync_ValueCountsOverASmallBudget_RefusedNamingTheOption()
    {
        var path = await WriteShardAsync("budget.parquet", seconds: 600);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => FeatureShardReader.OpenAsync(path, new FeatureShardReaderOptions { MaxRowGroupBytes = 1 << 20 }));

        Assert.Contains("FeatureShardReaderOptions.MaxRowGroupBytes", error.Message, StringComparison.Ordinal);
        await using var reader = await FeatureShardReader.OpenAsync(path);
        Assert.Equal(600 * 512, (await reader.ReadVideoAsync("v0")).Features.Length);
    }

    [Fact]
    public async Task OpenAsync_TailClaimingAFooterLargerThanTheFile_Refused()
    {
        var path = await WriteShardAsync("tail.parquet");
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(bytes.Length - 8), int.MaxValue);
        File.WriteAllBytes(path, bytes);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => FeatureShardReader.OpenAsync(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("footer", error.Message, StringComparison.Ordinal);
    }

    private async Task<string> WriteShardAsync(string name, int seconds = 2)
    {
        var path = Path.Combine(_dir, name);
        await using var writer = FeatureShardWriter.CreateFile(path, s_lineage);
        for (var i = 0; i < 2; i++)
        {
            await writer.AddAsync(FeatureShardTests.MakeRecord($"v{i}", seconds, mixed: false, captions: 2, seed: i));
        }

        await writer.CompleteAsync();
        return path;
    }

    /// <summary>Rewrites every occurrence of <paramref name="field"/> in the footer to <paramref name="value"/> and fixes the footer length.</summary>
    private static void PatchFooter(string path, string field, long value)
    {
        var file = File.ReadAllBytes(path);
        var footerLength = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        var footerStart = file.Length - 8 - footerLength;
        var footer = file.AsSpan(footerStart, footerLength).ToArray();
        var targets = new List<(int Start, int End)>();
        new CompactWalker(footer, field, targets).Struct(Level.File);
        Assert.NotEmpty(targets);

        var patched = new List<byte>(footer);
        foreach (var (start, end) in targets.OrderByDescending(t => t.Start))
        {
            patched.RemoveRange(start, end - start);
            patched.InsertRange(start, ZigZagVarint(value));
        }

        var result = new List<byte>(file.AsSpan(0, footerStart).ToArray());
        result.AddRange(patched);
        var tail = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(tail, patched.Count);
        "PAR1"u8.CopyTo(tail.AsSpan(4));
        result.AddRange(tail);
        File.WriteAllBytes(path, [.. result]);
    }

    private static byte[] ZigZagVarint(long value)
    {
        var n = (ulong)((value << 1) ^ (value >> 63));
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(n & 0x7F);
            n >>= 7;
            bytes.Add(n == 0 ? b : (byte)(b | 0x80));
        }
        while (n != 0);
        return [.. bytes];
    }

    private enum Level
    {
        File,
        RowGroup,
        ColumnChunk,
        ColumnMeta,
        Other,
    }

    /// <summary>Walks a Thrift compact-protocol struct, recording where the chosen i64 field's varints lie.</summary>
    private sealed class CompactWalker(byte[] data, string field, List<(int Start, int End)> targets)
    {
        private int _at;

        public void Struct(Level level)
        {
            short id = 0;
            while (true)
            {
                var header = data[_at++];
                var type = header & 0x0F;
                if (type == 0)
                {
                    return;
                }

                var delta = header >> 4;
                id = delta != 0 ? (short)(id + delta) : (short)ZigZag(Varint());
                var child = (level, id) switch
                {
                    (Level.File, 4) => Level.RowGroup,
                    (Level.RowGroup, 1) => Level.ColumnChunk,
                    (Level.ColumnChunk, 3) => Level.ColumnMeta,
                    _ => Level.Other,
                };
                var wanted = (level, id, field) switch
                {
                    (Level.ColumnMeta, 5, "num_values") => true,
                    (Level.ColumnMeta, 7, "total_compressed_size") => true,
                    (Level.RowGroup, 3, "num_rows") => true,
                    _ => false,
                };
                var start = _at;
                Value(type, child);
                if (wanted)
                {
                    Assert.Equal(6, type);
                    targets.Add((start, _at));
                }
            }
        }

        private void Value(int type, Level child)
        {
            switch (type)
            {
                case 1 or 2:
                    break;
                case 3:
                    _at++;
                    break;
                case 4 or 5 or 6:
                    Varint();
                    break;
                case 7:
                    _at += 8;
                    break;
                case 8:
                    {
                        // Not `_at += Varint()`: that reads _at before Varint moves it past the length.
                        var length = (int)Varint();
                        _at += length;
                        break;
                    }

                case 9 or 10:
                    {
                        var header = data[_at++];
                        var size = header >> 4 == 15 ? (int)Varint() : header >> 4;
                        for (var i = 0; i < size; i++)
                        {
                            if ((header & 0x0F) is 1 or 2)
                            {
                                _at++;
                            }
                            else
                            {
                                Value(header & 0x0F, child);
                            }
                        }

                        break;
                    }

                case 11:
                    {
                        var size = (int)Varint();
                        if (size > 0)
                        {
                            var types = data[_at++];
                            for (var i = 0; i < size; i++)
                            {
                                Value(types >> 4, Level.Other);
                                Value(types & 0x0F, Level.Other);
                            }
                        }

                        break;
                    }

                case 12:
                    Struct(child);
                    break;
                default:
                    throw new InvalidDataException($"unknown compact type {type} at {_at}");
            }
        }

        private ulong Varint()
        {
            ulong result = 0;
            var shift = 0;
            while (true)
            {
                var b = data[_at++];
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }

                shift += 7;
            }
        }

        private static long ZigZag(ulong n) => (long)(n >> 1) ^ -(long)(n & 1);
    }
}

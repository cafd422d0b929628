using System.Buffers;
using System.Buffers.Binary;
using CommunityToolkit.HighPerformance;
using Parquet.Meta;
using Parquet.Schema;

namespace VideoData.Shards;

/// <summary>
/// The fast path for a shard's <c>list&lt;float&gt;</c> columns (<c>features</c>, <c>mixed_5c</c>): decodes the
/// column chunk's pages directly and reads the values straight into one exactly sized array per row, instead of
/// materialising a value array plus per-value definition and repetition level arrays and copying rows out of it.
/// Handles what a feature shard holds: a required list of required floats (max definition and repetition level
/// 1), PLAIN values, RLE/bit-packed hybrid levels, v1 data pages, uncompressed (the writer's only codec). Row lengths are
/// known from the <c>seconds</c>·<c>dim</c> columns; the repetition levels are checked against them run by run
/// (never expanded), and the defined-value count against the values present. Anything else (dictionary pages,
/// v2 data pages, other encodings, any compression codec, optional lists) answers <see langword="null"/> so the caller
/// uses Parquet.Net's general reader: a compressed shard (the writer used Parquet.Net's default, Snappy, until
/// 2026-11-25) reads the same, only slower.
/// The values are read from the stream into the row arrays with no intermediate copy.
/// </summary>
internal static class FloatListChunkReader
{
    private const int PageTypeData = 0;
    private const int PageTypeIndex = 1;
    private const int PageTypeDictionary = 2;
    private const int PageTypeDataV2 = 3;
    private const int EncodingPlain = 0;
    private const int EncodingRle = 3;
    private const int CodecUncompressed = 0;
    private const int PhysicalFloat = 4;

    /// <summary>
    /// Reads the chunk described by <paramref name="meta"/> into arrays of <paramref name="lengths"/> floats, or
    /// answers <see langword="null"/> when its layout is not one this path handles. With <paramref name="onlyRow"/>
    /// ≥ 0 only that row's array is filled (the others are empty) and, in an uncompressed chunk, only its values are
    /// read from the stream: the other rows' bytes are skipped. Throws <see cref="InvalidDataException"/> when the
    /// chunk contradicts the lengths or is malformed (levels are checked for every row either way).
    /// </summary>
    public static async Task<float[][]?> TryReadAsync(Stream stream, ColumnMetaData meta, DataField field, int[] lengths, CancellationToken ct, int onlyRow = -1)
    {
        if (field.MaxDefinitionLevel != 1 || field.MaxRepetitionLevel != 1 || (int)meta.Type != PhysicalFloat
            || (int)meta.Codec != CodecUncompressed)
        {
            return null;
        }

        long levelCount = 0;
        long valueCount = 0;
        foreach (var n in lengths)
        {
            levelCount += Math.Max(1, n);
            valueCount += n;
        }

        if (meta.NumValues != levelCount)
        {
            throw new InvalidDataException($"column {field.Path} holds {meta.NumValues} entries; the rows' seconds·dim give {levelCount}.");
        }

        var start = meta.DataPageOffset;
        if (meta.DictionaryPageOffset is long dictionary && dictionary > 0 && dictionary < start)
        {
            start = dictionary;
        }

        var rows = new float[lengths.Length][];
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r] = lengths[r] == 0 || (onlyRow >= 0 && r != onlyRow) ? [] : GC.AllocateUninitializedArray<float>(lengths[r]);
        }

        var cursor = new ChunkCursor(stream, start, meta.TotalCompressedSize);
        try
        {
            var filler = new RowFiller(rows, lengths);
            var levels = new RepetitionCursor(lengths);
            long levelsRead = 0;
            while (levelsRead < levelCount)
            {
                var header = await ReadPageHeaderAsync(cursor, ct).ConfigureAwait(false);
                switch (header.Type)
                {
                    case PageTypeData:
                        if (!await ReadPageV1Async(cursor, header, levels, filler, ct).ConfigureAwait(false))
                        {
                            return null;
                        }

                        break;
                    case PageTypeIndex:
                        cursor.Skip(header.CompressedSize);
                        continue;
                    case PageTypeDictionary or PageTypeDataV2:
                        return null;
                    default:
                        throw new InvalidDataException($"column {field.Path} has a page of unknown type {header.Type}.");
                }

                levelsRead += header.NumValues;
            }

            levels.Finish();
            if (filler.WrittenBytes != valueCount * sizeof(float))
            {
                throw new InvalidDataException($"column {field.Path} holds {filler.WrittenBytes / sizeof(float)} values; the rows' seconds·dim give {valueCount}.");
            }

            return rows;
        }
        finally
        {
            cursor.Dispose();
        }
    }

    private static async Task<bool> ReadPageV1Async(ChunkCursor cursor, PageHeader header, RepetitionCursor levels, RowFiller filler, CancellationToken ct)
    {
        if (header.Encoding != EncodingPlain || header.DefinitionEncoding != EncodingRle || header.RepetitionEncoding != EncodingRle)
        {
            return false;
        }

        if (header.UncompressedSize != header.CompressedSize)
        {
            throw new InvalidDataException($"an uncompressed page declares {header.CompressedSize} stored and {header.UncompressedSize} uncompressed bytes.");
        }

        // Levels first (a few bytes per row when runs are long), then the values straight into the rows.
        var repLength = await cursor.ReadInt32Async(ct).ConfigureAwait(false);
        var rep = await cursor.PeekAsync(repLength, ct).ConfigureAwait(false);
        levels.Consume(rep.Span, header.NumValues);
        cursor.Skip(repLength);
        var defLength = await cursor.ReadInt32Async(ct).ConfigureAwait(false);
        var def = await cursor.PeekAsync(defLength, ct).ConfigureAwait(false);
        var present = CountDefined(def.Span, header.NumValues);
        cursor.Skip(defLength);
        var valueBytes = (long)header.CompressedSize - 8 - repLength - defLength;
        CheckValueBytes(valueBytes, present);
        await filler.ReadAsync(cursor, valueBytes, ct).ConfigureAwait(false);
        return true;
    }

    private static void CheckValueBytes(long bytes, long present)
    {
        if (bytes != present * sizeof(float))
        {
            throw new InvalidDataException($"a page holds {bytes} value bytes for {present} floats.");
        }
    }

    /// <summary>Number of definition levels equal to 1 among the first <paramref name="count"/> (bit width 1).</summary>
    private static long CountDefined(ReadOnlySpan<byte> data, int count)
    {
        long present = 0;
        var decoded = 0;
        var p = 0;
        while (decoded < count)
        {
            var run = ReadRun(data, ref p, count - decoded, out var rle, out var value, out var packed);
            if (rle)
            {
                present += value * run;
            }
            else
            {
                for (var i = 0; i < run; i++)
                {
                    present += (packed[i >> 3] >> (i & 7)) & 1;
                }
            }

            decoded += run;
        }

        return present;
    }

    /// <summary>
    /// Reads one RLE/bit-packed hybrid run header of bit width 1 at <paramref name="p"/>. An RLE run gives its
    /// value; a bit-packed run gives its bytes (LSB first). Answers how many of the wanted levels the run covers.
    /// </summary>
    private static int ReadRun(ReadOnlySpan<byte> data, ref int p, int wanted, out bool rle, out int value, out ReadOnlySpan<byte> packed)
    {
        ulong header = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (p >= data.Length || shift > 35)
            {
                throw new InvalidDataException("a page's levels end inside a run header.");
            }

            var b = data[p++];
            header |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        if ((header & 1) == 0)
        {
            var run = header >> 1;
            if (run == 0 || p >= data.Length)
            {
                throw new InvalidDataException("a page's levels hold an empty or truncated RLE run.");
            }

            value = data[p++];
            if (value > 1)
            {
                throw new InvalidDataException($"a page's levels hold level {value} where at most 1 is possible.");
            }

            rle = true;
            packed = default;
            return (int)Math.Min(run, (ulong)wanted);
        }

        var groups = (long)(header >> 1);
        if (groups == 0 || groups > data.Length - p)
        {
            throw new InvalidDataException("a page's levels hold an empty or truncated bit-packed run.");
        }

        rle = false;
        value = 0;
        packed = data.Slice(p, (int)groups);
        p += (int)groups;
        return (int)Math.Min(groups * 8, wanted);
    }

    private static async Task<PageHeader> ReadPageHeaderAsync(ChunkCursor cursor, CancellationToken ct)
    {
        // Headers are tens of bytes; statistics can make them longer, so look further until one parses.
        for (var window = 256; ; window *= 4)
        {
            var bytes = await cursor.PeekAsync((int)Math.Min(window, cursor.Remaining), ct).ConfigureAwait(false);
            if (PageHeader.TryParse(bytes.Span, out var header, out var consumed))
            {
                cursor.Skip(consumed);
                return header;
            }

            if (bytes.Length >= cursor.Remaining || window >= 1 << 24)
            {
                throw new InvalidDataException("a page header runs past the end of its column chunk.");
            }
        }
    }

    /// <summary>Checks repetition levels against the expected row lengths, run by run.</summary>
    private sealed class RepetitionCursor(int[] lengths)
    {
        private int _row = -1;
        private long _position;

        public void Consume(ReadOnlySpan<byte> data, int count)
        {
            var decoded = 0;
            var p = 0;
            while (decoded < count)
            {
                var run = ReadRun(data, ref p, count - decoded, out var rle, out var value, out var packed);
                if (rle)
                {
                    if (value == 1)
                    {
                        Continue(run);
                    }
                    else
                    {
                        for (var i = 0; i < run; i++)
                        {
                            StartRow();
                        }
                    }
                }
                else
                {
                    for (var i = 0; i < run; i++)
                    {
                        if (((packed[i >> 3] >> (i & 7)) & 1) == 1)
                        {
                            Continue(1);
                        }
                        else
                        {
                            StartRow();
                        }
                    }
                }

                decoded += run;
            }
        }

        public void Finish()
        {
            if (_row != lengths.Length - 1 || (_row >= 0 && _position != Math.Max(1, lengths[_row])))
            {
                throw new InvalidDataException($"the repetition levels end in row {_row + 1} of {lengths.Length}.");
            }
        }

        private void StartRow()
        {
            if (_row >= 0 && _position != Math.Max(1, lengths[_row]))
            {
                throw new InvalidDataException($"row {_row} holds {_position} entries; its seconds·dim give {lengths[_row]}.");
            }

            _row++;
            if (_row >= lengths.Length)
            {
                throw new InvalidDataException($"the column holds more lists than the row group's {lengths.Length} rows.");
            }

            _position = 1;
        }

        private void Continue(int run)
        {
            if (_row < 0 || _position + run > lengths[_row])
            {
                throw new InvalidDataException($"row {_row} holds more entries than its seconds·dim give ({(_row < 0 ? 0 : lengths[_row])}).");
            }

            _position += run;
        }
    }

    /// <summary>Places value bytes, in order, into the rows' arrays; rows without an array of their length are passed over.</summary>
    private sealed class RowFiller(float[][] rows, int[] lengths)
    {
        private int _row;
        private long _offset;

        public long WrittenBytes { get; private set; }

        public async Task ReadAsync(ChunkCursor cursor, long bytes, CancellationToken ct)
        {
            while (bytes > 0)
            {
                var row = NextRow();
                var n = Math.Min(RowBytes(row) - _offset, bytes);
                if (rows[row].Length == lengths[row])
                {
                    await cursor.ReadExactlyAsync(rows[row].AsMemory().Cast<float, byte>().Slice((int)_offset, (int)n), ct).ConfigureAwait(false);
                }
                else
                {
                    cursor.Skip(n);
                }

                Advance(n);
                bytes -= n;
            }
        }

        private long RowBytes(int row) => (long)lengths[row] * sizeof(float);

        private int NextRow()
        {
            while (_row < rows.Length && _offset == RowBytes(_row))
            {
                _row++;
                _offset = 0;
            }

            if (_row >= rows.Length)
            {
                throw new InvalidDataException("the column holds more values than its rows' seconds·dim.");
            }

            return _row;
        }

        private void Advance(long bytes)
        {
            _offset += bytes;
            WrittenBytes += bytes;
        }
    }

    /// <summary>A column chunk read through a small look-ahead buffer; large reads bypass it.</summary>
    private sealed class ChunkCursor : IDisposable
    {
        private readonly Stream _stream;
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        private int _start;
        private int _end;
        private long _unread;
        private bool _positioned;
        private readonly long _offset;

        public ChunkCursor(Stream stream, long offset, long length)
        {
            if (offset < 0 || length < 0 || offset + length > stream.Length)
            {
                throw new InvalidDataException($"a column chunk at {offset} of {length} bytes lies outside the {stream.Length}-byte file.");
            }

            _stream = stream;
            _offset = offset;
            _unread = length;
        }

        /// <summary>Bytes of the chunk not yet consumed.</summary>
        public long Remaining => _unread + (_end - _start);

        public async ValueTask<ReadOnlyMemory<byte>> PeekAsync(int count, CancellationToken ct)
        {
            if (count < 0 || count > Remaining)
            {
                throw new InvalidDataException($"a page needs {count} bytes where its column chunk has {Remaining} left.");
            }

            if (_end - _start < count)
            {
                if (_buffer.Length < count)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(count);
                    _buffer.AsSpan(_start, _end - _start).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = larger;
                }
                else
                {
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                }

                _end -= _start;
                _start = 0;
                Position();
                // Fill what is needed plus look-ahead, within the chunk.
                var want = (int)Math.Min(_buffer.Length - _end, _unread);
                var need = count - _end;
                var got = 0;
                while (got < need)
                {
                    var n = await _stream.ReadAsync(_buffer.AsMemory(_end + got, want - got), ct).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new InvalidDataException("the file ends inside a column chunk.");
                    }

                    got += n;
                }

                _end += got;
                _unread -= got;
            }

            return _buffer.AsMemory(_start, count);
        }

        public async ValueTask<int> ReadInt32Async(CancellationToken ct)
        {
            var bytes = await PeekAsync(4, ct).ConfigureAwait(false);
            var value = BinaryPrimitives.ReadInt32LittleEndian(bytes.Span);
            _start += 4;
            if (value < 0 || value > Remaining)
            {
                throw new InvalidDataException($"a page declares {value} level bytes with {Remaining} left in its column chunk.");
            }

            return value;
        }

        public void Skip(long count)
        {
            if (count < 0 || count > Remaining)
            {
                throw new InvalidDataException($"a page needs {count} bytes where its column chunk has {Remaining} left.");
            }

            var buffered = Math.Min(count, _end - _start);
            _start += (int)buffered;
            count -= buffered;
            if (count > 0)
            {
                Position();
                _stream.Seek(count, SeekOrigin.Current);
                _unread -= count;
            }
        }

        public async ValueTask ReadExactlyAsync(Memory<byte> destination, CancellationToken ct)
        {
            if (destination.Length > Remaining)
            {
                throw new InvalidDataException($"a page needs {destination.Length} bytes where its column chunk has {Remaining} left.");
            }

            var buffered = Math.Min(destination.Length, _end - _start);
            _buffer.AsSpan(_start, buffered).CopyTo(destination.Span);
            _start += buffered;
            destination = destination[buffered..];
            if (!destination.IsEmpty)
            {
                Position();
                await _stream.ReadExactlyAsync(destination, ct).ConfigureAwait(false);
                _unread -= destination.Length;
            }
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }

        private void Position()
        {
            if (!_positioned)
            {
                _stream.Seek(_offset, SeekOrigin.Begin);
                _positioned = true;
            }
        }
    }

    /// <summary>The fields of a Parquet page header this reader uses (Thrift compact protocol).</summary>
    private readonly record struct PageHeader(
        int Type,
        int UncompressedSize,
        int CompressedSize,
        int NumValues,
        int Encoding,
        int DefinitionEncoding,
        int RepetitionEncoding)
    {
        /// <summary>Parses a header at the start of <paramref name="data"/>; false when it runs past the end.</summary>
        public static bool TryParse(ReadOnlySpan<byte> data, out PageHeader header, out int consumed)
        {
            var reader = new CompactReader(data);
            try
            {
                header = reader.ReadPageHeader();
                consumed = reader.Position;
            }
            catch (EndOfStreamException)
            {
                header = default;
                consumed = 0;
                return false;
            }
            catch (OverflowException ex)
            {
                throw new InvalidDataException($"a page header holds an out-of-range number: {ex.Message}", ex);
            }

            if (header.CompressedSize < 0 || header.UncompressedSize < 0 || header.NumValues < 0)
            {
                throw new InvalidDataException($"a page header declares negative sizes ({header.CompressedSize}, {header.UncompressedSize}, {header.NumValues}).");
            }

            return true;
        }
    }

    /// <summary>Just enough of the Thrift compact protocol to read a page header and skip what it does not use.</summary>
    private ref struct CompactReader(ReadOnlySpan<byte> data)
    {
        private const int TypeTrue = 1;
        private const int TypeFalse = 2;
        private const int TypeByte = 3;
        private const int TypeI16 = 4;
        private const int TypeI32 = 5;
        private const int TypeI64 = 6;
        private const int TypeDouble = 7;
        private const int TypeBinary = 8;
        private const int TypeList = 9;
        private const int TypeSet = 10;
        private const int TypeMap = 11;
        private const int TypeStruct = 12;

        private readonly ReadOnlySpan<byte> _data = data;

        public int Position { get; private set; }

        public PageHeader ReadPageHeader()
        {
            int type = -1, uncompressed = -1, compressed = -1;
            var v1 = (NumValues: -1, Encoding: -1, Def: -1, Rep: -1);
            short last = 0;
            while (NextField(ref last, out var fieldType, out var id))
            {
                switch (id)
                {
                    case 1 when fieldType == TypeI32: type = ReadI32(); break;
                    case 2 when fieldType == TypeI32: uncompressed = ReadI32(); break;
                    case 3 when fieldType == TypeI32: compressed = ReadI32(); break;
                    case 5 when fieldType == TypeStruct: v1 = ReadDataPageHeader(); break;
                    default: Skip(fieldType, 0); break;
                }
            }

            if (type < 0 || uncompressed < 0 || compressed < 0)
            {
                throw new InvalidDataException("a page header lacks its type or sizes.");
            }

            if (type == PageTypeData && v1.NumValues < 0)
            {
                throw new InvalidDataException("a data page header lacks its data page fields.");
            }

            return new PageHeader(type, uncompressed, compressed, Math.Max(v1.NumValues, 0), v1.Encoding, v1.Def, v1.Rep);
        }

        private (int NumValues, int Encoding, int Def, int Rep) ReadDataPageHeader()
        {
            var result = (NumValues: -1, Encoding: -1, Def: -1, Rep: -1);
            short last = 0;
            while (NextField(ref last, out var fieldType, out var id))
            {
                switch (id)
                {
                    case 1 when fieldType == TypeI32: result.NumValues = ReadI32(); break;
                    case 2 when fieldType == TypeI32: result.Encoding = ReadI32(); break;
                    case 3 when fieldType == TypeI32: result.Def = ReadI32(); break;
                    case 4 when fieldType == TypeI32: result.Rep = ReadI32(); break;
                    default: Skip(fieldType, 1); break;
                }
            }

            return result;
        }

        private bool NextField(ref short last, out int type, out short id)
        {
            var b = ReadByte();
            type = b & 0x0f;
            if (type == 0)
            {
                id = 0;
                return false;
            }

            var delta = b >> 4;
            id = delta == 0 ? checked((short)ReadZigZag()) : checked((short)(last + delta));
            last = id;
            return true;
        }

        private void Skip(int type, int depth)
        {
            if (depth > 32)
            {
                throw new InvalidDataException("a page header nests too deeply.");
            }

            switch (type)
            {
                case TypeTrue or TypeFalse:
                    break;
                case TypeByte:
                    ReadByte();
                    break;
                case TypeI16 or TypeI32 or TypeI64:
                    ReadVarint();
                    break;
                case TypeDouble:
                    Advance(8);
                    break;
                case TypeBinary:
                    Advance(checked((int)ReadVarint()));
                    break;
                case TypeList or TypeSet:
                    {
                        var h = ReadByte();
                        var size = h >> 4 == 15 ? checked((int)ReadVarint()) : h >> 4;
                        var element = h & 0x0f;
                        for (var i = 0; i < size; i++)
                        {
                            if (element is TypeTrue or TypeFalse)
                            {
                                ReadByte();
                            }
                            else
                            {
                                Skip(element, depth + 1);
                            }
                        }

                        break;
                    }

                case TypeMap:
                    {
                        var size = checked((int)ReadVarint());
                        if (size > 0)
                        {
                            var kinds = ReadByte();
                            for (var i = 0; i < size; i++)
                            {
                                Skip(kinds >> 4, depth + 1);
                                Skip(kinds & 0x0f, depth + 1);
                            }
                        }

                        break;
                    }

                case TypeStruct:
                    {
                        short last = 0;
                        while (NextField(ref last, out var fieldType, out _))
                        {
                            Skip(fieldType, depth + 1);
                        }

                        break;
                    }

                default:
                    throw new InvalidDataException($"a page header holds an unknown Thrift type {type}.");
            }
        }

        private int ReadI32() => checked((int)ReadZigZag());

        private long ReadZigZag()
        {
            var v = ReadVarint();
            return (long)(v >> 1) ^ -(long)(v & 1);
        }

        private ulong ReadVarint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = ReadByte();
                result |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }
            }

            throw new InvalidDataException("a page header holds an over-long varint.");
        }

        private byte ReadByte()
        {
            if (Position >= _data.Length)
            {
                throw new EndOfStreamException();
            }

            return _data[Position++];
        }

        private void Advance(int count)
        {
            if (count < 0 || count > _data.Length - Position)
            {
                throw new EndOfStreamException();
            }

            Position += count;
        }
    }
}

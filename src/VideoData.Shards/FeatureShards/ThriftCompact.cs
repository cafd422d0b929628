using System.Buffers.Binary;

namespace VideoData.Shards;

/// <summary>
/// A generic reader and writer of Thrift's compact protocol, enough to take a Parquet footer (FileMetaData) apart, change
/// a few fields and write it back with every other field, known or not, preserved. Parquet.Net keeps its own codec
/// internal; the assembler needs only this much of it. Values: <see cref="ThriftStruct"/>, <see cref="ThriftList"/>,
/// <see cref="ThriftMap"/>, and boxed bool, sbyte, short, int, long, double, byte[] for the scalar types.
/// </summary>
internal static class ThriftCompact
{
    public const byte BoolTrue = 1, BoolFalse = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8, List = 9, Set = 10, Map = 11, Struct = 12;

    public static ThriftStruct ReadStruct(ReadOnlySpan<byte> data)
    {
        var position = 0;
        return ReadStruct(data, ref position, depth: 0);
    }

    public static byte[] Write(ThriftStruct value)
    {
        var output = new List<byte>(4096);
        WriteStruct(output, value);
        return [.. output];
    }

    private static ThriftStruct ReadStruct(ReadOnlySpan<byte> data, ref int position, int depth)
    {
        if (depth > 64)
        {
            throw new InvalidDataException("Thrift structure nested too deeply.");
        }

        var fields = new List<ThriftField>();
        short lastId = 0;
        while (true)
        {
            var header = ReadByte(data, ref position);
            if (header == 0)
            {
                return new ThriftStruct(fields);
            }

            var type = (byte)(header & 0x0F);
            var delta = header >> 4;
            var id = delta != 0 ? (short)(lastId + delta) : (short)ZigZag(ReadVarint(data, ref position));
            object value = type is BoolTrue or BoolFalse ? type == BoolTrue : ReadValue(data, ref position, type, depth);
            fields.Add(new ThriftField(id, type is BoolFalse ? BoolTrue : type, value));
            lastId = id;
        }
    }

    private static object ReadValue(ReadOnlySpan<byte> data, ref int position, byte type, int depth)
    {
        switch (type)
        {
            case BoolTrue or BoolFalse:
                return ReadByte(data, ref position) == BoolTrue;
            case Byte:
                return (sbyte)ReadByte(data, ref position);
            case I16:
                return (short)ZigZag(ReadVarint(data, ref position));
            case I32:
                return (int)ZigZag(ReadVarint(data, ref position));
            case I64:
                return ZigZag(ReadVarint(data, ref position));
            case Double:
                Need(data, position, 8);
                var d = BinaryPrimitives.ReadDoubleLittleEndian(data[position..]);
                position += 8;
                return d;
            case Binary:
                var length = checked((int)ReadVarint(data, ref position));
                Need(data, position, length);
                var bytes = data.Slice(position, length).ToArray();
                position += length;
                return bytes;
            case List or Set:
                var head = ReadByte(data, ref position);
                var size = head >> 4;
                var elementType = (byte)(head & 0x0F);
                if (size == 15)
                {
                    size = checked((int)ReadVarint(data, ref position));
                }

                var items = new List<object>(Math.Min(size, 4096));
                for (var i = 0; i < size; i++)
                {
                    items.Add(ReadValue(data, ref position, elementType, depth + 1));
                }

                return new ThriftList(type, elementType, items);
            case Map:
                var count = checked((int)ReadVarint(data, ref position));
                byte keyType = 0, valueType = 0;
                if (count > 0)
                {
                    var types = ReadByte(data, ref position);
                    keyType = (byte)(types >> 4);
                    valueType = (byte)(types & 0x0F);
                }

                var pairs = new List<(object, object)>(Math.Min(count, 4096));
                for (var i = 0; i < count; i++)
                {
                    pairs.Add((ReadValue(data, ref position, keyType, depth + 1), ReadValue(data, ref position, valueType, depth + 1)));
                }

                return new ThriftMap(keyType, valueType, pairs);
            case Struct:
                return ReadStruct(data, ref position, depth + 1);
            default:
                throw new InvalidDataException($"Unknown Thrift compact type {type} at byte {position}.");
        }
    }

    private static void WriteStruct(List<byte> output, ThriftStruct value)
    {
        short lastId = 0;
        foreach (var field in value.Fields)
        {
            var type = field.Type is BoolTrue or BoolFalse ? ((bool)field.Value ? BoolTrue : BoolFalse) : field.Type;
            var delta = field.Id - lastId;
            if (delta is > 0 and <= 15)
            {
                output.Add((byte)((delta << 4) | type));
            }
            else
            {
                output.Add(type);
                WriteVarint(output, ZigZagEncode(field.Id));
            }

            if (type is not (BoolTrue or BoolFalse))
            {
                WriteValue(output, type, field.Value);
            }

            lastId = field.Id;
        }

        output.Add(0);
    }

    private static void WriteValue(List<byte> output, byte type, object value)
    {
        switch (type)
        {
            case BoolTrue or BoolFalse:
                output.Add((bool)value ? BoolTrue : BoolFalse);
                break;
            case Byte:
                output.Add((byte)(sbyte)value);
                break;
            case I16:
                WriteVarint(output, ZigZagEncode((short)value));
                break;
            case I32:
                WriteVarint(output, ZigZagEncode((int)value));
                break;
            case I64:
                WriteVarint(output, ZigZagEncode((long)value));
                break;
            case Double:
                Span<byte> d = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleLittleEndian(d, (double)value);
                output.AddRange(d);
                break;
            case Binary:
                var bytes = (byte[])value;
                WriteVarint(output, (ulong)bytes.Length);
                output.AddRange(bytes);
                break;
            case List or Set:
                var list = (ThriftList)value;
                if (list.Items.Count < 15)
                {
                    output.Add((byte)((list.Items.Count << 4) | list.ElementType));
                }
                else
                {
                    output.Add((byte)(0xF0 | list.ElementType));
                    WriteVarint(output, (ulong)list.Items.Count);
                }

                foreach (var item in list.Items)
                {
                    WriteValue(output, list.ElementType, item);
                }

                break;
            case Map:
                var map = (ThriftMap)value;
                WriteVarint(output, (ulong)map.Pairs.Count);
                if (map.Pairs.Count > 0)
                {
                    output.Add((byte)((map.KeyType << 4) | map.ValueType));
                }

                foreach (var (k, v) in map.Pairs)
                {
                    WriteValue(output, map.KeyType, k);
                    WriteValue(output, map.ValueType, v);
                }

                break;
            case Struct:
                WriteStruct(output, (ThriftStruct)value);
                break;
            default:
                throw new InvalidOperationException($"Unknown Thrift compact type {type}.");
        }
    }

    private static byte ReadByte(ReadOnlySpan<byte> data, ref int position)
    {
        Need(data, position, 1);
        return data[position++];
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadByte(data, ref position);
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw new InvalidDataException("Thrift varint longer than 10 bytes.");
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    private static long ZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    private static ulong ZigZagEncode(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static void Need(ReadOnlySpan<byte> data, int position, int count)
    {
        if (position + count > data.Length || count < 0)
        {
            throw new InvalidDataException($"Thrift data ends early (needed {count} bytes at {position} of {data.Length}).");
        }
    }
}

/// <summary>One field of a Thrift struct: id, compact type (booleans as <see cref="ThriftCompact.BoolTrue"/>) and value.</summary>
internal sealed record ThriftField(short Id, byte Type, object Value);

/// <summary>A Thrift struct: its fields in wire order.</summary>
internal sealed record ThriftStruct(List<ThriftField> Fields)
{
    public object? Get(short id) => Fields.FirstOrDefault(f => f.Id == id)?.Value;

    public long? GetLong(short id) => Get(id) switch
    {
        long l => l,
        int i => i,
        short s => s,
        _ => null,
    };

    /// <summary>Sets (or adds, keeping ids ascending) a field.</summary>
    public void Set(short id, byte type, object value)
    {
        var index = Fields.FindIndex(f => f.Id == id);
        if (index >= 0)
        {
            Fields[index] = new ThriftField(id, type, value);
            return;
        }

        var at = Fields.FindIndex(f => f.Id > id);
        Fields.Insert(at < 0 ? Fields.Count : at, new ThriftField(id, type, value));
    }

    public void Remove(short id) => Fields.RemoveAll(f => f.Id == id);

    /// <summary>A deep enough copy for the assembler: fields list copied, nested values shared unless replaced.</summary>
    public ThriftStruct Copy() => new([.. Fields]);
}

/// <summary>A Thrift list or set.</summary>
internal sealed record ThriftList(byte Type, byte ElementType, List<object> Items);

/// <summary>A Thrift map.</summary>
internal sealed record ThriftMap(byte KeyType, byte ValueType, List<(object Key, object Value)> Pairs);

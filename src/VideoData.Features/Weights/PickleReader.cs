using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace VideoData.Features.Weights;

/// <summary>A reference to a Python global (<c>module.name</c>) met in a pickle.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => Module + "." + Name;
}

/// <summary>A Python tuple.</summary>
internal sealed record PickleTuple(object?[] Items);

/// <summary>A Python dict (or OrderedDict), keys in insertion order.</summary>
internal sealed class PickleDict
{
    public List<KeyValuePair<object, object?>> Items { get; } = [];
}

/// <summary>
/// A restricted unpickler (protocols 2–5 without out-of-band buffers): it builds plain values,
/// tuples, lists and dicts itself, and hands every global, REDUCE, persistent id and BUILD to the
/// caller, which accepts only what it knows. Nothing is ever executed, so a hostile file can at
/// worst be rejected.
/// </summary>
internal sealed class PickleReader
{
    private readonly byte[] _data;
    private readonly string _name;
    private readonly Func<PickleGlobal, object?[], object?> _reduce;
    private readonly Func<object?, object?> _persistentLoad;
    private readonly Func<object?, object?, object?> _build;
    private readonly Dictionary<long, object?> _memo = [];
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private int _pos;

    /// <param name="data">The pickle bytes.</param>
    /// <param name="name">A name for messages.</param>
    /// <param name="reduce">Calls a global with arguments; throws for anything it does not accept.</param>
    /// <param name="persistentLoad">Resolves a persistent id.</param>
    /// <param name="build">Applies BUILD state to an object and returns the object.</param>
    public PickleReader(byte[] data, string name, Func<PickleGlobal, object?[], object?> reduce, Func<object?, object?> persistentLoad, Func<object?, object?, object?> build)
    {
        _data = data;
        _name = name;
        _reduce = reduce;
        _persistentLoad = persistentLoad;
        _build = build;
    }

    public object? Load()
    {
        while (true)
        {
            if (_pos >= _data.Length)
            {
                throw Bad("ends before its STOP opcode (truncated)");
            }

            var at = _pos;
            var op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    var protocol = ReadByte();
                    if (protocol > 5)
                    {
                        throw Bad($"uses pickle protocol {protocol}; at most 5 is supported");
                    }

                    break;
                case 0x95: // FRAME: a length prefix, the opcodes follow inline
                    Take(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1)
                    {
                        throw Bad($"stops with {_stack.Count} values on the stack instead of one");
                    }

                    return _stack[0];
                case (byte)'(':
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': // POP
                    Pop();
                    break;
                case (byte)'1': // POP_MARK
                    PopMark();
                    break;
                case (byte)'2': // DUP
                    Push(Peek());
                    break;
                case (byte)'N':
                    Push(null);
                    break;
                case 0x88:
                    Push(true);
                    break;
                case 0x89:
                    Push(false);
                    break;
                case (byte)'K':
                    Push((long)ReadByte());
                    break;
                case (byte)'M':
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
                    break;
                case (byte)'J':
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
                    break;
                case 0x8a: // LONG1
                    Push(ReadLong(ReadByte()));
                    break;
                case 0x8b: // LONG4
                    Push(ReadLong(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))));
                    break;
                case (byte)'I': // INT (text)
                    var intText = ReadLine();
                    Push(intText switch
                    {
                        "01" => true,
                        "00" => false,
                        _ => long.Parse(intText, CultureInfo.InvariantCulture),
                    });
                    break;
                case (byte)'L': // LONG (text)
                    Push(long.Parse(ReadLine().TrimEnd('L'), CultureInfo.InvariantCulture));
                    break;
                case (byte)'G': // BINFLOAT, big-endian
                    Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8)));
                    break;
                case (byte)'F':
                    Push(double.Parse(ReadLine(), CultureInfo.InvariantCulture));
                    break;
                case (byte)'X':
                    Push(Encoding.UTF8.GetString(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(Encoding.UTF8.GetString(Take(ReadByte())));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(Encoding.UTF8.GetString(Take(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(Take(8))))));
                    break;
                case (byte)'T': // BINSTRING (py2 str)
                    Push(Encoding.Latin1.GetString(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))));
                    break;
                case (byte)'U': // SHORT_BINSTRING
                    Push(Encoding.Latin1.GetString(Take(ReadByte())));
                    break;
                case (byte)'B': // BINBYTES
                    Push(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))).ToArray());
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    Push(Take(ReadByte()).ToArray());
                    break;
                case 0x8e: // BINBYTES8
                    Push(Take(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))).ToArray());
                    break;
                case (byte)')':
                    Push(new PickleTuple([]));
                    break;
                case 0x85:
                    Push(new PickleTuple([Pop()]));
                    break;
                case 0x86:
                    {
                        var b = Pop();
                        var a = Pop();
                        Push(new PickleTuple([a, b]));
                        break;
                    }

                case 0x87:
                    {
                        var c = Pop();
                        var b = Pop();
                        var a = Pop();
                        Push(new PickleTuple([a, b, c]));
                        break;
                    }

                case (byte)'t':
                    Push(new PickleTuple(PopMark()));
                    break;
                case (byte)']':
                    Push(new List<object?>());
                    break;
                case (byte)'l':
                    Push(new List<object?>(PopMark()));
                    break;
                case (byte)'a':
                    {
                        var item = Pop();
                        AsList(Peek(), at).Add(item);
                        break;
                    }

                case (byte)'e':
                    {
                        var items = PopMark();
                        AsList(Peek(), at).AddRange(items);
                        break;
                    }

                case (byte)'}':
                    Push(new PickleDict());
                    break;
                case (byte)'d':
                    {
                        var items = PopMark();
                        var dict = new PickleDict();
                        AddPairs(dict, items, at);
                        Push(dict);
                        break;
                    }

                case (byte)'s':
                    {
                        var value = Pop();
                        var key = Pop();
                        AddPairs(AsDict(Peek(), at), [key, value], at);
                        break;
                    }

                case (byte)'u':
                    {
                        var items = PopMark();
                        AddPairs(AsDict(Peek(), at), items, at);
                        break;
                    }

                case (byte)'p':
                    _memo[long.Parse(ReadLine(), CultureInfo.InvariantCulture)] = Peek();
                    break;
                case (byte)'q':
                    _memo[ReadByte()] = Peek();
                    break;
                case (byte)'r':
                    _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek();
                    break;
                case 0x94: // MEMOIZE
                    _memo[_memo.Count] = Peek();
                    break;
                case (byte)'g':
                    Push(Memo(long.Parse(ReadLine(), CultureInfo.InvariantCulture)));
                    break;
                case (byte)'h':
                    Push(Memo(ReadByte()));
                    break;
                case (byte)'j':
                    Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))));
                    break;
                case (byte)'c': // GLOBAL "module\nname\n"
                    {
                        var module = ReadLine();
                        var name = ReadLine();
                        Push(new PickleGlobal(module, name));
                        break;
                    }

                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop() as string ?? throw Bad($"has a STACK_GLOBAL without a string name at offset {at}");
                        var module = Pop() as string ?? throw Bad($"has a STACK_GLOBAL without a string module at offset {at}");
                        Push(new PickleGlobal(module, name));
                        break;
                    }

                case (byte)'R': // REDUCE
                    {
                        var args = Pop() as PickleTuple ?? throw Bad($"has a REDUCE without an argument tuple at offset {at}");
                        var callable = Pop() as PickleGlobal ?? throw Bad($"has a REDUCE of something that is not a global at offset {at}");
                        Push(_reduce(callable, args.Items));
                        break;
                    }

                case 0x81: // NEWOBJ: cls.__new__(cls, *args)
                    {
                        var args = Pop() as PickleTuple ?? throw Bad($"has a NEWOBJ without an argument tuple at offset {at}");
                        var cls = Pop() as PickleGlobal ?? throw Bad($"has a NEWOBJ of something that is not a global at offset {at}");
                        Push(_reduce(cls, args.Items));
                        break;
                    }

                case (byte)'Q': // BINPERSID
                    Push(_persistentLoad(Pop()));
                    break;
                case (byte)'b': // BUILD
                    {
                        var state = Pop();
                        var target = Pop();
                        Push(_build(target, state));
                        break;
                    }

                default:
                    throw Bad($"uses pickle opcode 0x{op:x2} ('{(char)op}') at offset {at}, which a PyTorch state dict does not need and this reader does not accept");
            }
        }
    }

    private static List<object?> AsList(object? value, int at) =>
        value as List<object?> ?? throw new InvalidDataException($"Pickle APPEND to a non-list at offset {at}.");

    private static PickleDict AsDict(object? value, int at) =>
        value as PickleDict ?? throw new InvalidDataException($"Pickle SETITEM on a non-dict at offset {at}.");

    private void AddPairs(PickleDict dict, object?[] items, int at)
    {
        if (items.Length % 2 != 0)
        {
            throw Bad($"has an odd number of dict items at offset {at}");
        }

        for (var i = 0; i < items.Length; i += 2)
        {
            var key = items[i] ?? throw Bad($"has a None dict key at offset {at}");
            dict.Items.Add(new KeyValuePair<object, object?>(key, items[i + 1]));
        }
    }

    private object? Memo(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Bad($"refers to memo entry {index}, which was never stored");

    private void Push(object? value) => _stack.Add(value);

    private object? Peek() => _stack.Count > 0 && (_marks.Count == 0 || _marks.Peek() < _stack.Count)
        ? _stack[^1]
        : throw Bad("reads past the bottom of its stack");

    private object? Pop()
    {
        var value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object?[] PopMark()
    {
        if (_marks.Count == 0)
        {
            throw Bad("pops a MARK that was never set");
        }

        var start = _marks.Pop();
        var items = _stack.GetRange(start, _stack.Count - start).ToArray();
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private byte ReadByte() => Take(1)[0];

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || _pos + count > _data.Length)
        {
            throw Bad("is truncated");
        }

        var span = _data.AsSpan(_pos, count);
        _pos += count;
        return span;
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0)
        {
            throw Bad("is truncated inside a text field");
        }

        var text = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return text;
    }

    private long ReadLong(int length)
    {
        if (length == 0)
        {
            return 0;
        }

        var value = new BigInteger(Take(length), isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue
            ? (long)value
            : throw Bad($"holds an integer ({value}) too large for 64 bits");
    }

    private InvalidDataException Bad(string what) => new($"Pickle '{_name}' {what}.");
}

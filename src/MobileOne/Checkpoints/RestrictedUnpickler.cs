using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace MobileOne.Checkpoints;

/// <summary>
/// A pickle reader that only understands what a PyTorch tensor state dict is made of: dicts, lists,
/// tuples, strings, numbers, <c>collections.OrderedDict</c>, PyTorch's tensor-rebuild functions and
/// storage types. A pickle that names any other callable (<c>os.system</c>, <c>builtins.eval</c>, ...)
/// is refused before anything is called, since nothing here ever calls Python code: a reference to a
/// callable is only matched against the allow-list, by name.
/// </summary>
internal sealed class RestrictedUnpickler
{
    /// <summary>A storage record reference (<c>('storage', FloatStorage, key, location, numel)</c>).</summary>
    internal sealed record StorageRef(TensorDType DType, string Key, long NumElements);

    /// <summary>A tensor view of a storage, as <c>_rebuild_tensor_v2</c> describes it.</summary>
    internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    private sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    private sealed class Mark { public static readonly Mark Instance = new(); }

    private static readonly HashSet<string> AllowedGlobals =
    [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "_codecs.encode",
    ];

    // A state dict needs a few containers and a few dozen values per tensor; far more means a file built to
    // exhaust memory (one pickle byte pushes a value or creates a container, and deflate shrinks such runs a
    // thousandfold). The largest state dicts have some ten thousand tensors.
    private const int MaxContainers = 1_000_000;
    private const int MaxValues = 10_000_000;

    /// <summary>Largest pickle read (a state dict of ten thousand tensors pickles to a few megabytes).</summary>
    public const int MaxPickleBytes = 256 << 20;

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] data;
    private readonly string source;
    private int pos;
    private int containers, values;
    private readonly List<object?> stack = [];
    private readonly Dictionary<long, object?> memo = [];

    private RestrictedUnpickler(byte[] data, string source)
    {
        this.data = data;
        this.source = source;
    }

    /// <summary>Reads one pickled object; <paramref name="source"/> names the file in error messages.</summary>
    public static object? Load(byte[] data, string source) => new RestrictedUnpickler(data, source).Run();

    private CheckpointException Corrupt(string what) =>
        new($"{source}: corrupt checkpoint pickle at byte {pos}: {what}");

    private object? Run()
    {
        while (true)
        {
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break;                                  // PROTO
                case 0x95: Read(8); break;                                      // FRAME
                case (byte)'.': return Pop();                                   // STOP
                case (byte)'(': Push(Mark.Instance); break;                // MARK
                case (byte)'}': Push(Counted(new OrderedDictionary<object, object?>())); break; // EMPTY_DICT
                case (byte)']': Push(Counted(new List<object?>())); break; // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break;       // EMPTY_TUPLE
                case (byte)'N': Push(null); break;                         // NONE
                case 0x88: Push(true); break;                              // NEWTRUE
                case 0x89: Push(false); break;                             // NEWFALSE
                case (byte)'K': Push((long)ReadByte()); break;             // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2))); break; // BININT2
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4))); break;  // BININT
                case 0x8a: Push(ReadLong(ReadByte())); break;              // LONG1
                case 0x8b: Push(ReadLong(ReadLength(4))); break;           // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8))); break; // BINFLOAT
                case (byte)'X': Push(Utf8(Read(ReadLength(4)))); break;  // BINUNICODE
                case 0x8c: Push(Utf8(Read(ReadByte()))); break;          // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Read(ReadLength(8)))); break;       // BINUNICODE8
                case (byte)'T': Push(Encoding.Latin1.GetString(Read(ReadLength(4)))); break; // BINSTRING
                case (byte)'U': Push(Encoding.Latin1.GetString(Read(ReadByte()))); break;    // SHORT_BINSTRING
                case (byte)'B': Push(Read(ReadLength(4)).ToArray()); break;  // BINBYTES
                case (byte)'C': Push(Read(ReadByte()).ToArray()); break;     // SHORT_BINBYTES
                case 0x8e: Push(Read(ReadLength(8)).ToArray()); break;       // BINBYTES8
                case (byte)'q': Memoize(ReadByte()); break;                       // BINPUT
                case (byte)'r': Memoize(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))); break; // LONG_BINPUT
                case 0x94: Memoize(memo.Count); break;                            // MEMOIZE
                case (byte)'h': Push(GetMemo(ReadByte())); break;            // BINGET
                case (byte)'j': Push(GetMemo(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break; // LONG_BINGET
                case 0x85: Push(Counted(new[] { Pop() })); break;            // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(Counted(new[] { a, b })); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(Counted(new[] { a, b, c })); break; } // TUPLE3
                case (byte)'t': Push(Counted(PopMark().ToArray())); break;   // TUPLE
                case (byte)'l': Push(Counted(PopMark())); break;             // LIST
                case (byte)'a': { var v = Pop(); AsList(Peek()).Add(v); break; }  // APPEND
                case (byte)'e': { var items = PopMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItem(Peek(), k, v); break; }  // SETITEM
                case (byte)'u':                                                                   // SETITEMS
                {
                    var items = PopMark();
                    if (items.Count % 2 != 0) throw Corrupt("SETITEMS with an odd number of items");
                    var target = Peek();
                    for (int i = 0; i < items.Count; i += 2) SetItem(target, items[i], items[i + 1]);
                    break;
                }
                case (byte)'c':                                                                   // GLOBAL
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    Push(ResolveGlobal(module, name));
                    break;
                }
                case 0x93:                                                                        // STACK_GLOBAL
                {
                    var name = Pop() as string ?? throw Corrupt("STACK_GLOBAL without a name");
                    var module = Pop() as string ?? throw Corrupt("STACK_GLOBAL without a module");
                    Push(ResolveGlobal(module, name));
                    break;
                }
                case (byte)'Q': Push(PersistentLoad(Pop())); break;                          // BINPERSID
                case (byte)'R':                                                                   // REDUCE
                {
                    var args = Pop() as object?[] ?? throw Corrupt("REDUCE without an argument tuple");
                    var callable = Pop();
                    Push(Call(callable, args));
                    break;
                }
                case (byte)'b':                                                                   // BUILD
                {
                    Pop(); // the state: a state dict's _metadata, or a tensor's python attributes
                    var target = Peek();
                    if (target is not (OrderedDictionary<object, object?> or TensorRef))
                        throw Corrupt($"BUILD on a {Describe(target)}");
                    break;
                }
                case 0x81 or 0x92 or (byte)'i' or (byte)'o':                                      // NEWOBJ, NEWOBJ_EX, INST, OBJ
                    throw new UnsafeCheckpointException($"{source}: refusing to load: the pickle constructs a Python object (opcode 0x{op:x2}), which a tensor state dict never does");
                case 0x82 or 0x83 or 0x84:                                                        // EXT1, EXT2, EXT4
                    throw new UnsafeCheckpointException($"{source}: refusing to load: the pickle names a callable through the extension registry (opcode 0x{op:x2})");
                default:
                    throw Corrupt($"unsupported pickle opcode 0x{op:x2}");
            }
        }
    }

    private void Push(object? value)
    {
        CountValue();
        stack.Add(value);
    }

    private void Memoize(long key)
    {
        CountValue();
        memo[key] = Peek();
    }

    /// <summary>Every value pushed or memoised costs memory: both count against one budget.</summary>
    private void CountValue()
    {
        if (++values > MaxValues) throw Corrupt($"more than {MaxValues:N0} values; a state dict needs a few dozen per tensor");
    }

    private T Counted<T>(T container)
    {
        if (++containers > MaxContainers)
            throw Corrupt($"more than {MaxContainers:N0} containers; a state dict needs a few per tensor");
        return container;
    }

    private string Utf8(ReadOnlySpan<byte> bytes)
    {
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { throw Corrupt("a string that is not valid UTF-8"); }
    }

    private object ResolveGlobal(string module, string name)
    {
        var qualified = $"{module}.{name}";
        if (AllowedGlobals.Contains(qualified)) return new Global(module, name);
        if (module == "torch" && TensorDTypes.FromTorchStorage(name) is not null) return new Global(module, name);
        throw new UnsafeCheckpointException(
            $"{source}: refusing to load: the pickle references '{qualified}', which a tensor state dict never needs " +
            "(allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter, torch.*Storage). " +
            "If the file is trusted, re-save only its state dict: torch.save(model.state_dict(), path).");
    }

    private object? Call(object? callable, object?[] args)
    {
        if (callable is not Global g) throw Corrupt($"REDUCE on a {Describe(callable)}");
        switch (g.ToString())
        {
            case "collections.OrderedDict":
                var dict = Counted(new OrderedDictionary<object, object?>());
                if (args.Length == 1 && args[0] is List<object?> pairs)
                    foreach (var p in pairs)
                        if (p is object?[] { Length: 2 } kv) SetItem(dict, kv[0], kv[1]);
                        else throw Corrupt("OrderedDict built from something other than pairs");
                return dict;
            case "torch._utils._rebuild_tensor_v2":
                if (args.Length < 4 || args[0] is not StorageRef storage)
                    throw Corrupt("_rebuild_tensor_v2 without a storage");
                return new TensorRef(storage, ToLong(args[1]), ToLongs(args[2]), ToLongs(args[3]));
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
                return args.Length > 0 && args[0] is TensorRef t ? t : throw Corrupt("_rebuild_parameter without a tensor");
            case "_codecs.encode":
                return args.Length > 0 && args[0] is string s ? Encoding.Latin1.GetBytes(s) : throw Corrupt("_codecs.encode without a string");
            default:
                // Storage types are only valid inside persistent ids.
                throw new UnsafeCheckpointException($"{source}: refusing to load: the pickle calls '{g}'");
        }
    }

    private StorageRef PersistentLoad(object? pid)
    {
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage")
            throw Corrupt($"unexpected persistent id {Describe(pid)}");
        if (t[1] is not Global { Module: "torch" } type || TensorDTypes.FromTorchStorage(type.Name) is not TensorDType dtype)
            throw Corrupt($"persistent id with storage type {Describe(t[1])}");
        if (t[2] is not string key) throw Corrupt("persistent id without a storage key");
        long numel = ToLong(t[4]);
        if (numel < 0) throw Corrupt($"storage '{key}' with a negative size");
        return new StorageRef(dtype, key, numel);
    }

    private void SetItem(object? target, object? key, object? value)
    {
        if (target is not OrderedDictionary<object, object?> dict || key is null)
            throw Corrupt($"SETITEM on a {Describe(target)}");
        dict[key] = value;
    }

    private List<object?> AsList(object? o) => o as List<object?> ?? throw Corrupt($"APPEND to a {Describe(o)}");

    private long ToLong(object? o) => o switch
    {
        long l => l,
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => throw Corrupt($"expected an integer, found {Describe(o)}"),
    };

    private long[] ToLongs(object? o) => o is object?[] t ? t.Select(ToLong).ToArray() : throw Corrupt($"expected a tuple of integers, found {Describe(o)}");

    private static string Describe(object? o) => o switch
    {
        null => "None",
        Global g => g.ToString(),
        object?[] t => $"tuple of {t.Length}",
        _ => o.GetType().Name,
    };

    private object? GetMemo(long key) => memo.TryGetValue(key, out var v) ? v : throw Corrupt($"memo key {key} never stored");

    private object? Peek() => stack.Count > 0 ? stack[^1] : throw Corrupt("stack underflow");

    private object? Pop()
    {
        var v = Peek();
        stack.RemoveAt(stack.Count - 1);
        if (v is Mark) throw Corrupt("unexpected MARK");
        return v;
    }

    private List<object?> PopMark()
    {
        int i = stack.FindLastIndex(o => o is Mark);
        if (i < 0) throw Corrupt("no MARK on the stack");
        var items = stack.GetRange(i + 1, stack.Count - i - 1);
        stack.RemoveRange(i, stack.Count - i);
        return items;
    }

    private byte ReadByte() => pos < data.Length ? data[pos++] : throw Corrupt("unexpected end of data");

    private ReadOnlySpan<byte> Read(int n)
    {
        if (n < 0 || pos + (long)n > data.Length) throw Corrupt("unexpected end of data");
        var span = data.AsSpan(pos, n);
        pos += n;
        return span;
    }

    private int ReadLength(int bytes)
    {
        ulong n = bytes == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Read(4)) : BinaryPrimitives.ReadUInt64LittleEndian(Read(8));
        if (n > (ulong)(data.Length - pos)) throw Corrupt($"a length of {n} bytes runs past the end of the data");
        return (int)n;
    }

    private object ReadLong(int n)
    {
        var bytes = Read(n);
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(data, (byte)'\n', pos);
        if (end < 0) throw Corrupt("unterminated GLOBAL name");
        var s = Utf8(data.AsSpan(pos, end - pos));
        pos = end + 1;
        return s;
    }
}

using System.Numerics;
using System.Text;

namespace MobileOne.Fuzz.Mutation;

/// <summary>
/// Opcode-level mutations of a state-dict pickle: integers at boundaries, tensor views (storage size, offset,
/// shape, stride) made inconsistent, instructions dropped or repeated, forbidden globals and object
/// construction inserted, and hand-built pickles whose dicts contain themselves or nest very deeply.
/// </summary>
public static class PickleMutator
{
    /// <summary>Exception a loader must raise for a pickle that names a forbidden callable.</summary>
    public const string UnsafeException = "MobileOne.Checkpoints.UnsafeCheckpointException";

    private static readonly (string Module, string Name)[] Forbidden =
    [
        ("os", "system"), ("posix", "system"), ("nt", "system"), ("builtins", "eval"), ("builtins", "exec"), ("__builtin__", "eval"),
        ("builtins", "getattr"), ("builtins", "__import__"), ("subprocess", "Popen"), ("subprocess", "check_output"), ("torch", "load"),
        ("torch.storage", "_load_from_bytes"), ("torch._utils", "_rebuild_tensor"), ("numpy.core.multiarray", "_reconstruct"),
        ("pickle", "loads"), ("shutil", "rmtree"), ("runpy", "_run_code"), ("collections", "OrderedDict.fromkeys"),
        ("collections ", "OrderedDict"), ("torch", "Tensor"), ("torch.nn.modules.conv", "Conv2d"),
    ];

    private static readonly string[] StorageTypes =
        ["FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage", "ShortStorage", "CharStorage",
         "ByteStorage", "BoolStorage", "ComplexFloatStorage", "QInt8Storage", "UntypedStorage", "floatStorage", ""];

    private static readonly string[] NestingKeys = ["state_dict", "model", "module", "state_dict_ema"];

    /// <summary>Where one tensor's description sits among the instructions.</summary>
    private sealed record TensorSite(int Name, int StorageType, int StorageKey, int Location, int Numel, int Offset, List<int> Shape, List<int> Stride);

    /// <summary>
    /// One mutation of a state-dict pickle: the new pickle, a note, and the exception a correct loader must
    /// refuse it with (<see cref="Mutant.AnyRefusal"/> for any refusal; null when loading it may be fine).
    /// </summary>
    public static (byte[] Pickle, string Detail, string? Expected) Mutate(Random rng, byte[] pickle)
    {
        var (ops, tail) = Pickle.Parse(pickle);
        var sites = FindTensors(ops);
        string detail;
        string? expected = null;
        switch (rng.Next(9))
        {
            case 0: detail = AnyInteger(rng, ops); break;
            case 1 or 2 when sites.Count > 0:
            {
                var site = rng.Pick(sites);
                var before = View(ops, site);
                detail = ViewField(rng, ops, site);
                expected = MustRefuse(before, ops, Key(ops, site)) ? Mutant.AnyRefusal : null;
                break;
            }
            case 3 when sites.Count > 0:
            {
                var site = rng.Pick(sites);
                var before = View(ops, site);
                detail = ViewCombination(rng, ops, site);
                expected = MustRefuse(before, ops, Key(ops, site)) ? Mutant.AnyRefusal : null;
                break;
            }
            case 4: detail = DropOrRepeat(rng, ops); break;
            case 5: detail = InsertForbidden(rng, ops); expected = UnsafeException; break;
            case 6 when sites.Count > 0: detail = StorageReference(rng, ops, rng.Pick(sites)); break;
            case 7: detail = Strings(rng, ops); break;
            case 8: detail = Memo(rng, ops); break;
            default: detail = AnyInteger(rng, ops); break;
        }
        return (Pickle.Join(ops, tail), detail, expected);
    }

    /// <summary>A tensor's storage size, offset, shape and stride, as numbers.</summary>
    private sealed record ViewValues(BigInteger Numel, BigInteger Offset, BigInteger[] Shape, BigInteger[] Stride);

    private static ViewValues View(List<PickleOp> ops, TensorSite t) =>
        new(ops[t.Numel].IntValue, ops[t.Offset].IntValue, t.Shape.Select(i => ops[i].IntValue).ToArray(), t.Stride.Select(i => ops[i].IntValue).ToArray());

    // True when the mutated tensor can only be refused: its storage no longer matches its record, its shape no
    // longer the model's, or its view reaches outside the storage (computed without overflow).
    private static bool MustRefuse(ViewValues before, List<PickleOp> ops, string key)
    {
        var site = FindTensors(ops).FirstOrDefault(t => Key(ops, t) == key);
        if (site is null) return true;
        var after = View(ops, site);
        if (after.Numel != before.Numel || !after.Shape.SequenceEqual(before.Shape) || after.Shape.Length != after.Stride.Length) return true;
        if (after.Offset < 0 || after.Stride.Any(x => x < 0)) return true;
        if (after.Shape.Any(d => d == 0)) return false;
        BigInteger last = after.Offset;
        for (int i = 0; i < after.Shape.Length; i++) last += (after.Shape[i] - 1) * after.Stride[i];
        return last >= after.Numel;
    }

    private static List<TensorSite> FindTensors(List<PickleOp> ops)
    {
        var sites = new List<TensorSite>();
        for (int q = 0; q < ops.Count; q++)
        {
            if (ops[q].Code != (byte)'Q') continue;
            // ... Str("storage") Global(torch.XStorage) Str(key) Str(location) Int(numel) TUPLE BINPERSID Int(offset) (shape) (stride)
            int storage = q - 6;
            if (storage < 5 || ops[storage].Text != "storage" || !ops[q - 2].IsInt || q + 1 >= ops.Count || !ops[q + 1].IsInt) continue;
            int after = q + 2;
            var shape = Tuple(ops, ref after);
            var stride = Tuple(ops, ref after);
            if (shape is null || stride is null) continue;
            sites.Add(new TensorSite(storage - 4, storage + 1, storage + 2, storage + 3, q - 2, q + 1, shape, stride));
        }
        return sites;
    }

    // Indices of the integers of the tuple starting at ops[at] (EMPTY_TUPLE, or MARK ints TUPLE); moves past it.
    private static List<int>? Tuple(List<PickleOp> ops, ref int at)
    {
        if (at >= ops.Count) return null;
        if (ops[at].Code == (byte)')') { at++; return []; }
        if (ops[at].Code != (byte)'(') return null;
        var items = new List<int>();
        for (int i = at + 1; i < ops.Count; i++)
        {
            if (ops[i].Code == (byte)'t') { at = i + 1; return items; }
            if (!ops[i].IsInt) return null;
            items.Add(i);
        }
        return null;
    }

    private static string AnyInteger(Random rng, List<PickleOp> ops)
    {
        var ints = Enumerable.Range(0, ops.Count).Where(i => ops[i].IsInt).ToList();
        if (ints.Count == 0) return DropOrRepeat(rng, ops);
        int at = rng.Pick(ints);
        var old = ops[at].IntValue;
        var value = Interesting.Any(rng, old);
        ops[at] = Pickle.Int(value);
        return $"integer #{at} {old} -> {value}";
    }

    private static string ViewField(Random rng, List<PickleOp> ops, TensorSite t)
    {
        var fields = new List<(int Index, string Role)> { (t.Numel, "storage numel"), (t.Offset, "storage offset") };
        fields.AddRange(t.Shape.Select((i, d) => (i, $"shape[{d}]")));
        fields.AddRange(t.Stride.Select((i, d) => (i, $"stride[{d}]")));
        var (index, role) = rng.Pick(fields);
        var old = ops[index].IntValue;
        var value = Interesting.Any(rng, old);
        ops[index] = Pickle.Int(value);
        return $"tensor {Key(ops, t)}: {role} {old} -> {value}";
    }

    private static string ViewCombination(Random rng, List<PickleOp> ops, TensorSite t)
    {
        BigInteger numel = ops[t.Numel].IntValue;
        switch (rng.Next(7))
        {
            case 0:
                foreach (var i in t.Shape) ops[i] = Pickle.Int(BigInteger.Pow(2, 31));
                foreach (var i in t.Stride) ops[i] = Pickle.Int(0);
                return $"tensor {Key(ops, t)}: every dim 2^31, every stride 0";
            case 1 when t.Stride.Count > 0:
            {
                int d = rng.Next(t.Stride.Count);
                ops[t.Stride[d]] = Pickle.Int(BigInteger.Pow(2, rng.Pick(new[] { 61, 62, 63 })) - rng.Next(2));
                return $"tensor {Key(ops, t)}: stride[{d}] near 2^61..2^63";
            }
            case 2 when t.Shape.Count > 0:
            {
                int d = rng.Next(t.Shape.Count);
                var offset = numel + rng.Pick(new long[] { 0, 1, 1000, 1L << 40 });
                ops[t.Shape[d]] = Pickle.Int(0);
                ops[t.Offset] = Pickle.Int(offset);
                return $"tensor {Key(ops, t)}: shape[{d}] 0 (no elements) at offset {offset}, beyond a storage of {numel}";
            }
            case 3 when t.Shape.Count > 1:
            {
                ops[t.Shape[0]] = Pickle.Int(BigInteger.Pow(2, 32));
                ops[t.Shape[1]] = Pickle.Int(BigInteger.Pow(2, 32));
                return $"tensor {Key(ops, t)}: shape[0] = shape[1] = 2^32 (element count wraps)";
            }
            case 4:
            {
                var offset = numel - rng.Next(0, 2);
                ops[t.Offset] = Pickle.Int(offset);
                return $"tensor {Key(ops, t)}: offset {offset} at the end of a storage of {numel}";
            }
            case 5 when t.Shape.Count > 0:
            {
                // One more dimension of size 1 (or one fewer) in shape and stride alike.
                bool add = rng.Chance(0.5);
                var value = rng.Pick(new BigInteger[] { 1, 0, BigInteger.Pow(2, 62) });
                if (add)
                {
                    ops.Insert(t.Stride.Count > 0 ? t.Stride[0] : t.Shape[^1] + 3, Pickle.Int(0));
                    ops.Insert(t.Shape[0], Pickle.Int(value));
                    return $"tensor {Key(ops, t)}: leading dimension {value} with stride 0 added";
                }
                ops.RemoveAt(t.Stride[0]);
                ops.RemoveAt(t.Shape[0]);
                return $"tensor {Key(ops, t)}: first dimension removed from shape and stride";
            }
            default:
            {
                ops[t.Offset] = Pickle.Int(-rng.Next(1, 5));
                return $"tensor {Key(ops, t)}: negative storage offset";
            }
        }
    }

    private static string Key(List<PickleOp> ops, TensorSite t) => $"'{ops[t.Name].Text ?? "?"}'";

    private static string DropOrRepeat(Random rng, List<PickleOp> ops)
    {
        if (ops.Count < 3) return "too short to edit";
        int at = 1 + rng.Next(ops.Count - 1);
        int n = rng.Chance(0.8) ? 1 : 1 + rng.Next(8);
        n = Math.Min(n, ops.Count - at);
        var span = ops.GetRange(at, n);
        string names = string.Join(" ", span.Select(o => OpName(o.Code)));
        switch (rng.Next(3))
        {
            case 0:
                ops.RemoveRange(at, n);
                return $"dropped {n} instruction(s) at #{at}: {names}";
            case 1:
                ops.InsertRange(at, span);
                return $"repeated {n} instruction(s) at #{at}: {names}";
            default:
                int to = 1 + rng.Next(ops.Count - 1);
                ops.RemoveRange(at, n);
                ops.InsertRange(Math.Min(to, ops.Count), span);
                return $"moved {n} instruction(s) from #{at} to #{to}: {names}";
        }
    }

    private static string InsertForbidden(Random rng, List<PickleOp> ops)
    {
        var (module, name) = rng.Pick(Forbidden);
        // Object construction is forbidden whatever it constructs, even an allowed class.
        var (objModule, objName) = rng.Chance(0.3) ? ("collections", "OrderedDict") : (module, name);
        int at = 1 + rng.Next(Math.Max(1, ops.Count - 1));
        PickleOp[] inserted;
        string how;
        switch (rng.Next(7))
        {
            case 0:
                inserted = [Pickle.Global(module, name), Pickle.Str("touch /tmp/mobileone-fuzz-pwned"), Pickle.Op((byte)0x85), Pickle.Op('R')];
                how = "GLOBAL + REDUCE";
                break;
            case 1:
                inserted = [Pickle.Str(module), Pickle.Str(name), Pickle.Op((byte)0x93), Pickle.Str("1+1"), Pickle.Op((byte)0x85), Pickle.Op('R')];
                how = "STACK_GLOBAL + REDUCE";
                break;
            case 2:
                inserted = [Pickle.Op('('), Pickle.Str("id"), Pickle.Inst(module, name)];
                how = "INST";
                break;
            case 3:
                (module, name) = (objModule, objName);
                inserted = [Pickle.Op('('), Pickle.Global(module, name), Pickle.Str("id"), Pickle.Op('o')];
                how = "OBJ";
                break;
            case 4:
                (module, name) = (objModule, objName);
                inserted = [Pickle.Global(module, name), Pickle.Op(')'), Pickle.Op((byte)0x81)];
                how = "NEWOBJ";
                break;
            case 5:
                (module, name) = (objModule, objName);
                inserted = [Pickle.Global(module, name), Pickle.Op(')'), Pickle.Op('}'), Pickle.Op((byte)0x92)];
                how = "NEWOBJ_EX";
                break;
            default:
            {
                // Replace a global the state dict really uses, so nothing before it differs.
                var globals = Enumerable.Range(0, ops.Count).Where(i => ops[i].Code == (byte)'c').ToList();
                if (globals.Count == 0) goto case 0;
                at = rng.Pick(globals);
                ops[at] = Pickle.Global(module, name);
                return $"GLOBAL #{at} replaced by {module}.{name}";
            }
        }
        ops.InsertRange(at, inserted);
        return $"{how} of {module}.{name} inserted at #{at}";
    }

    private static string StorageReference(Random rng, List<PickleOp> ops, TensorSite t)
    {
        switch (rng.Next(3))
        {
            case 0:
                var type = rng.Pick(StorageTypes);
                ops[t.StorageType] = Pickle.Global("torch", type);
                return $"tensor {Key(ops, t)}: storage type torch.{type}";
            case 1:
                var key = rng.Pick(new[] { "0", "1", "", "../version", "../../data.pkl", "0\0", "99999", "/etc/passwd", "data.pkl" });
                ops[t.StorageKey] = Pickle.Str(key);
                return $"tensor {Key(ops, t)}: storage key '{key}'";
            default:
                var location = rng.Pick(new[] { "cuda:0", "meta", "", "mps", "cpu\0" });
                ops[t.Location] = Pickle.Str(location);
                return $"tensor {Key(ops, t)}: storage location '{location}'";
        }
    }

    private static string Strings(Random rng, List<PickleOp> ops)
    {
        var strings = Enumerable.Range(0, ops.Count).Where(i => ops[i].Code is (byte)'X' or 0x8c).ToList();
        if (strings.Count == 0) return AnyInteger(rng, ops);
        int at = rng.Pick(strings);
        var old = ops[at];
        switch (rng.Next(3))
        {
            case 0:
                // A length prefix that lies (the bytes stay as they were).
                var claimed = rng.Pick(new long[] { 0, 1, 0x7fffffff, 0xffffffff, 100_000 });
                var arg = (byte[])old.Arg.Clone();
                if (old.Code == (byte)'X') BitConverter.GetBytes((uint)claimed).CopyTo(arg, 0);
                else arg[0] = (byte)claimed;
                ops[at] = old with { Arg = arg };
                return $"string #{at} claims length {claimed}";
            case 1:
                byte[] invalid = [.. Encoding.UTF8.GetBytes(old.Text ?? ""), 0xff, 0xc0, 0x80];
                ops[at] = Pickle.Str(invalid);
                return $"string #{at} '{old.Text}' with invalid UTF-8 appended";
            default:
                var text = rng.Pick(Interesting.Strings);
                ops[at] = Pickle.Str(text);
                return $"string #{at} '{old.Text}' -> '{Shorten(text)}'";
        }
    }

    private static string Memo(Random rng, List<PickleOp> ops)
    {
        int at = 1 + rng.Next(Math.Max(1, ops.Count - 1));
        switch (rng.Next(3))
        {
            case 0:
                ops.Insert(at, Pickle.Memo('h', (byte)rng.Next(256)));
                return $"BINGET of an arbitrary memo index at #{at}";
            case 1:
                ops.Insert(at, new PickleOp((byte)'r', BitConverter.GetBytes(uint.MaxValue - (uint)rng.Next(2))));
                return $"LONG_BINPUT near 2^32 at #{at}";
            default:
                ops.InsertRange(at, [Pickle.Op((byte)0x94), Pickle.Memo('h', 0)]);
                return $"MEMOIZE + BINGET 0 at #{at}";
        }
    }

    /// <summary>A pickle whose top-level dict contains itself (or two dicts that contain each other) under a nesting key.</summary>
    public static (byte[] Pickle, string Detail) SelfReference(Random rng)
    {
        var key = rng.Pick(NestingKeys);
        List<PickleOp> ops = [new(0x80, [2])];
        string detail;
        switch (rng.Next(3))
        {
            case 0:
                ops.AddRange([Pickle.Op('}'), Pickle.Memo('q', 0), Pickle.Op('('), Pickle.Str(key), Pickle.Memo('h', 0), Pickle.Op('u')]);
                detail = $"dict whose '{key}' is itself";
                break;
            case 1:
                var other = rng.Pick(NestingKeys);
                ops.AddRange([Pickle.Op('}'), Pickle.Memo('q', 0), Pickle.Op('('), Pickle.Str(key), Pickle.Op('}'), Pickle.Op('('), Pickle.Str(other),
                    Pickle.Memo('h', 0), Pickle.Op('u'), Pickle.Op('u')]);
                detail = $"dicts containing each other through '{key}' and '{other}'";
                break;
            default:
                ops.AddRange([Pickle.Global("collections", "OrderedDict"), Pickle.Op(')'), Pickle.Op('R'), Pickle.Memo('q', 0), Pickle.Op('('),
                    Pickle.Str("stage0.reparam_conv.weight"), Pickle.Memo('h', 0), Pickle.Str(key), Pickle.Memo('h', 0), Pickle.Op('u')]);
                detail = $"OrderedDict holding itself as a tensor entry and under '{key}'";
                break;
        }
        ops.Add(Pickle.Op('.'));
        return (Pickle.Join(ops), detail);
    }

    /// <summary>A pickle of <paramref name="depth"/> dicts, each the only value of the previous one under a nesting key.</summary>
    public static byte[] DeepNesting(int depth, string key)
    {
        var s = new MemoryStream();
        s.Write([0x80, 2]);
        // The key string is memoised once and fetched with BINGET: 4 bytes per level.
        s.WriteByte((byte)'}');
        s.WriteByte((byte)'(');
        s.Write(Pickle.Join([Pickle.Str(key), Pickle.Memo('q', 0)]));
        for (int i = 1; i < depth; i++) s.Write([(byte)'}', (byte)'(', (byte)'h', 0]);
        s.WriteByte((byte)'}');
        for (int i = 0; i < depth; i++) s.WriteByte((byte)'u');
        s.WriteByte((byte)'.');
        return s.ToArray();
    }

    private static string Shorten(string s) => s.Length > 24 ? s[..12] + $"...({s.Length} chars)" : s;

    private static string OpName(byte code) => code is >= 0x20 and < 0x7f ? $"'{(char)code}'" : $"0x{code:x2}";
}

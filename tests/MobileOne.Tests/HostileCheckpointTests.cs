using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MobileOne.Checkpoints;
using MobileOne.Models;
using MobileOne.Reparameterization;

namespace MobileOne.Tests;

/// <summary>
/// Regression tests for the hostile checkpoints of issue 11: each file is built here, each refusal is the
/// project's own exception, named and asserted, and none costs more memory than the file holds.
/// </summary>
public sealed class HostileCheckpointTests : FileTest
{
    private static readonly MobileOneConfig Tiny = new([1, 1, 1, 1], [0.25, 0.25, 0.5, 0.5], false, 2, 4);

    private string Archive(string name, byte[] pickle, params (string Key, byte[] Data)[] storages)
    {
        var path = Dir.File(name);
        PickleBuilder.WriteArchive(path, pickle, storages);
        return path;
    }

    private static CheckpointException Refused(string path) =>
        Assert.ThrowsAny<CheckpointException>(() => MobileOneCheckpoint.Load(path));

    /// <summary>Bytes allocated on this thread by <paramref name="work"/>, which is expected to throw.</summary>
    private static long AllocatedWhileFailing(Action work)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.ThrowsAny<MobileOneException>(work);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void DictContainingItselfIsRefusedWithoutRecursing()
    {
        // d = {}; d["state_dict"] = d
        var pickle = new PickleBuilder().Op('}').Op('q').Byte(0).Str("state_dict").Op('h').Byte(0).Op('s').Op('.').ToArray();
        Assert.Contains("no tensors found", Refused(Archive("self.pth", pickle)).Message);
    }

    [Fact]
    public void HundredThousandNestedDictsAreRefusedWithoutRecursing()
    {
        var b = new PickleBuilder();
        const int depth = 100_000;
        for (int i = 0; i < depth; i++) b.Op('}').Str("state_dict");
        b.Op('}');
        for (int i = 0; i < depth; i++) b.Op('s');
        Assert.Contains("no tensors found", Refused(Archive("deep.pth", b.Op('.').ToArray())).Message);
    }

    [Fact]
    public void MillionsOfEmptyContainersAreRefused()
    {
        var pickle = new byte[1_100_002];
        pickle[0] = 0x80;
        pickle[1] = 2;
        pickle.AsSpan(2).Fill((byte)'}');
        Assert.Contains("containers", Refused(Archive("bomb.pth", pickle)).Message);
    }

    [Theory]
    [InlineData(new long[] { 1L << 31, 1L << 31 }, new long[] { 0, 0 }, 0L, "storage")] // 2^62 elements from 4 by stride 0
    [InlineData(new long[] { 5 }, new long[] { 1L << 62 }, 0L, "impossible view")]      // (5 - 1) * 2^62 wraps to 0: element 0 read 5 times
    [InlineData(new long[] { 2, 2 }, new long[] { 1L << 61, 1 }, 0L, "reaches past")]
    [InlineData(new long[] { 0 }, new long[] { 1 }, 1000L, "invalid view")]            // empty, but at an offset beyond the storage
    [InlineData(new long[] { 3 }, new long[] { -1 }, 3L, "invalid view")]
    public void TensorViewsAreCheckedWithCheckedArithmetic(long[] shape, long[] stride, long offset, string fragment)
    {
        var path = Archive("view.pth", PickleBuilder.OneTensor("stage0.reparam_conv.weight", 4, shape, stride, offset), ("0", new byte[16]));
        var e = Assert.ThrowsAny<CheckpointException>(() => CheckpointFile.Read(path));
        Assert.Contains(fragment, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void OverlappingViewsOfOneStorageAreRefused()
    {
        var pickle = PickleBuilder.Tensors(4, ("a", 0, [4], [1]), ("b", 0, [3], [1]));
        var e = Assert.ThrowsAny<CheckpointException>(() => CheckpointFile.Read(Archive("overlap.pth", pickle, ("0", new byte[16]))));
        Assert.Contains("overlapping or expanded", e.Message);
    }

    [Fact]
    public void TiedWeightsShareOneViewAndOneCopy()
    {
        var data = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var state = CheckpointFile.Read(Archive("tied.pth", PickleBuilder.Tensors(4, ("a", 0, [4], [1]), ("b", 0, [4], [1])), ("0", data)));
        Assert.Equal(data, state["a"].Data);
        Assert.Same(state["a"], state["b"]);
    }

    [Fact]
    public void ZipRecordClaimingAThousandTimesItsSizeIsNotAllocatedUpFront()
    {
        // The pickle agrees with the claim, so the record itself is what gets read.
        var path = Archive("claims.pth", PickleBuilder.OneTensor("w", 1000L << 18, [4], [1]), ("0", new byte[1 << 20]));
        // Claim 1 GB uncompressed for the 1 MB stored record, in its local and central headers.
        PatchZipSizes(path, "archive/data/0", uncompressed: 1000u << 20);
        long allocated = AllocatedWhileFailing(() => CheckpointFile.Read(path));
        Assert.True(allocated < 64 << 20, $"{allocated:N0} bytes allocated to refuse the file");
    }

    [Fact]
    public void DamagedZipDirectoryIsACheckpointError()
    {
        using var model = new MobileOneModel(Tiny);
        var path = Dir.File("damaged.pth");
        MobileOneCheckpoint.Save(model, path);
        var bytes = File.ReadAllBytes(path);
        // Point every central-directory record's local-header offset past the end of the file.
        for (int i = 0; i + 46 <= bytes.Length; i++)
            if (bytes.AsSpan(i, 4).SequenceEqual("PK\x01\x02"u8))
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 42), 0x7fff_0000);
        File.WriteAllBytes(path, bytes);
        var e = Refused(path);
        Assert.StartsWith($"{path}: ", e.Message);
        Assert.Contains("corrupt", e.Message);
    }

    [Theory]
    [InlineData(0x81)] // NEWOBJ
    [InlineData(0x92)] // NEWOBJ_EX
    [InlineData('o')]  // OBJ
    [InlineData(0x82)] // EXT1
    public void PicklesConstructingObjectsAreRefusedAsUnsafe(int opcode)
    {
        var pickle = new PickleBuilder().Op('(').Global("collections", "OrderedDict").Op(')').Byte((byte)opcode).Byte(1).Op('.').ToArray();
        var e = Assert.Throws<UnsafeCheckpointException>(() => CheckpointFile.Read(Archive("obj.pth", pickle)));
        Assert.Contains("refusing to load", e.Message);
    }

    [Fact]
    public void InstOpcodeIsRefusedAsUnsafe()
    {
        var pickle = new PickleBuilder().Op('(').Op('i').Raw("os\nsystem\n"u8.ToArray()).Op('.').ToArray();
        Assert.Throws<UnsafeCheckpointException>(() => CheckpointFile.Read(Archive("inst.pth", pickle)));
    }

    [Fact]
    public void InvalidUtf8InAPickledNameIsRefused()
    {
        var pickle = new PickleBuilder().Op('}').Byte(0x8c).Byte(2).Raw(0xc3, 0x28).Op('N').Op('s').Op('.').ToArray();
        Assert.Contains("not valid UTF-8", Assert.ThrowsAny<CheckpointException>(() => CheckpointFile.Read(Archive("utf8.pth", pickle))).Message);
    }

    private string Safetensors(string name, string header, int dataBytes = 16)
    {
        var path = Dir.File(name);
        var json = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)json.Length));
        f.Write(json);
        f.Write(new byte[dataBytes]);
        return path;
    }

    [Theory]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}""", "appears twice")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", "overlap")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}""", "not a non-negative integer")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}""", "not a non-negative integer")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}}""", "impossible shape")]
    [InlineData("""{"a": [1, 2]}""", "not an object")]
    public void MalformedSafetensorsHeadersAreNamed(string header, string fragment)
    {
        var path = Safetensors("bad.safetensors", header);
        var e = Assert.ThrowsAny<CheckpointException>(() => CheckpointFile.Read(path));
        Assert.Contains(fragment, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void InvalidUtf8InASafetensorsNameIsACheckpointError()
    {
        var path = Dir.File("utf8.safetensors");
        var json = Encoding.UTF8.GetBytes("""{"XX": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""");
        json[2] = 0xc3;
        json[3] = 0x28;
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)json.Length));
            f.Write(json);
            f.Write(new byte[4]);
        }
        Assert.Contains(path, Assert.ThrowsAny<CheckpointException>(() => CheckpointFile.Read(path)).Message);
    }

    private string TinyCheckpoint(string name, CheckpointLayout layout = CheckpointLayout.Apple, bool fused = false)
    {
        var path = Dir.File(name);
        using var model = new MobileOneModel(Tiny);
        MobileOneCheckpoint.Save(fused ? Reparameterizer.Fuse(model) : model, path, layout);
        return path;
    }

    [Fact]
    public void ModulePrefixedKeyBesideItsPlainTwinIsAmbiguous()
    {
        var path = TinyCheckpoint("twin.safetensors");
        var state = CheckpointFile.Read(path);
        state["module.linear.bias"] = state["linear.bias"];
        CheckpointFile.Write(path, state, CheckpointFormat.Safetensors);
        var e = Refused(path);
        Assert.Contains("'linear.bias' and 'module.linear.bias' both stand for 'linear.bias'", e.Message);
    }

    [Fact]
    public void TimmStemBesideAppleStage0IsAmbiguous()
    {
        var path = TinyCheckpoint("stem.safetensors", CheckpointLayout.Timm);
        var state = CheckpointFile.Read(path);
        var stem = state.Keys.First(k => k.StartsWith("stem.", StringComparison.Ordinal));
        state["stage0." + stem["stem.".Length..]] = state[stem];
        CheckpointFile.Write(path, state, CheckpointFormat.Safetensors);
        Assert.Contains("both stand for", Refused(path).Message);
    }

    [Theory]
    [InlineData("stage1.39999999999.rbr_conv.0.conv.weight")]
    [InlineData("stage1.\u0663.rbr_conv.0.conv.weight")] // ARABIC-INDIC DIGIT THREE
    [InlineData("stages.99999999999.0.conv_kxk.0.conv.weight")]
    public void BlockIndicesBeyondIntOrInOtherScriptsAreCheckpointErrors(string key)
    {
        var layout = key.StartsWith("stages.", StringComparison.Ordinal) ? CheckpointLayout.Timm : CheckpointLayout.Apple;
        var path = TinyCheckpoint("index.safetensors", layout);
        var state = CheckpointFile.Read(path);
        state[key] = new CheckpointTensor(TensorDType.Float32, [1], new byte[4]);
        CheckpointFile.Write(path, state, CheckpointFormat.Safetensors);
        // Not a block index at all: the key is reported as one the model lacks.
        var message = Refused(path).Message;
        Assert.Contains("unexpected keys (1): stage", message);
        Assert.Contains($".{key.Split('.')[1]}.", message);
    }

    [Fact]
    public void ScalarWhereTheClassifierMatrixBelongsIsNamed()
    {
        var path = TinyCheckpoint("scalar.safetensors");
        var state = CheckpointFile.Read(path);
        state["linear.weight"] = new CheckpointTensor(TensorDType.Float32, [], new byte[4]);
        CheckpointFile.Write(path, state, CheckpointFormat.Safetensors);
        Assert.Contains("'linear.weight' has shape []", Refused(path).Message);
    }

    [Theory]
    [InlineData("linear.weight", new long[] { 2147483647, 0 })]   // 2^31 - 1 classes, zero bytes of data
    [InlineData("stage3.1.reparam_conv.weight,stage4.1.reparam_conv.weight", new long[] { 65536, 0, 1, 1 })] // a 65536 x 65536 kernel
    public void AbsurdArchitecturesFromShapesHitTheModelLimit(string keys, long[] shape)
    {
        var path = TinyCheckpoint("absurd.safetensors", fused: true);
        var state = CheckpointFile.Read(path);
        foreach (var key in keys.Split(','))
            state[key] = new CheckpointTensor(TensorDType.Float32, shape, []);
        CheckpointFile.Write(path, state, CheckpointFormat.Safetensors);
        var e = Assert.ThrowsAny<MobileOneException>(() => MobileOneCheckpoint.Load(path));
        Assert.Contains(ResourceLimits.ModelVariable, e.Message);
    }

    /// <summary>Rewrites the uncompressed size that a zip's local and central headers give one entry.</summary>
    internal static void PatchZipSizes(string path, string entryName, uint uncompressed)
    {
        var bytes = File.ReadAllBytes(path);
        var name = Encoding.ASCII.GetBytes(entryName);
        for (int i = 0; i + 46 < bytes.Length; i++)
        {
            if (bytes.AsSpan(i, 4).SequenceEqual("PK\x03\x04"u8) && bytes.AsSpan(i + 30).StartsWith(name))
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), uncompressed);
            if (bytes.AsSpan(i, 4).SequenceEqual("PK\x01\x02"u8) && bytes.AsSpan(i + 46).StartsWith(name))
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), uncompressed);
        }
        File.WriteAllBytes(path, bytes);
    }
}

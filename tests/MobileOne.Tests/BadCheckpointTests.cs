using MobileOne.Checkpoints;
using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>Every way a checkpoint can be wrong gets a specific, actionable error.</summary>
public sealed class BadCheckpointTests : FileTest
{
    private static readonly MobileOneConfig Tiny = new([1, 1, 1, 1], [0.25, 0.25, 0.5, 0.5], false, 2, 4);

    private string Valid(string name, bool fused = false, CheckpointLayout layout = CheckpointLayout.Apple)
    {
        var path = Dir.File(name);
        using var model = new MobileOneModel(Tiny);
        MobileOneCheckpoint.Save(fused ? Reparameterizer.Fuse(model) : model, path, layout);
        return path;
    }

    private static CheckpointException Fails(string path, MobileOneConfig? config = null) =>
        Assert.ThrowsAny<CheckpointException>(() => MobileOneCheckpoint.Load(path, config));

    [Fact]
    public void MissingFile() =>
        Assert.Contains("not found", Fails(Dir.File("nope.pth")).Message);

    [Fact]
    public void EmptyFile()
    {
        var path = Dir.File("empty.pth");
        File.WriteAllBytes(path, []);
        Assert.Contains("empty file", Fails(path).Message);
    }

    [Fact]
    public void NotACheckpoint()
    {
        var path = Dir.File("notes.pth");
        File.WriteAllText(path, "these are not weights");
        Assert.Contains("neither a PyTorch", Fails(path).Message);
    }

    [Fact]
    public void LegacyTorchSaveFormatIsExplained()
    {
        var path = Dir.File("legacy.pth");
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
        Assert.Contains("legacy", Fails(path).Message);
    }

    [Fact]
    public void TruncatedPthFile()
    {
        var path = Valid("full.pth");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Fails(path);
        Assert.Contains("truncated or corrupt", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void CorruptedDataIsCaughtByTheChecksum()
    {
        var path = Valid("flip.pth");
        var bytes = File.ReadAllBytes(path);
        // Flip one byte in the middle of the largest tensor's stored data.
        var largest = CheckpointFile.Read(path).Values.MaxBy(t => t.Data.Length)!.Data;
        int at = bytes.AsSpan().IndexOf(largest);
        Assert.True(at > 0);
        bytes[at + largest.Length / 2] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("corrupt", Fails(path).Message);
    }

    [Fact]
    public void TruncatedSafetensorsFile()
    {
        var path = Valid("t.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        Assert.Contains("truncated", Fails(path).Message);
    }

    [Fact]
    public void SafetensorsHeaderLargerThanTheFile()
    {
        var path = Dir.File("h.safetensors");
        var bytes = new byte[64];
        BitConverter.GetBytes(1UL << 40).CopyTo(bytes, 0);
        bytes[8] = (byte)'{';
        File.WriteAllBytes(path, bytes);
        Assert.Contains("header of", Fails(path).Message);
    }

    [Fact]
    public void SafetensorsTensorClaimingHugeShapeIsRefused()
    {
        var path = Dir.File("huge.safetensors");
        var header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000],\"data_offsets\":[0,4000000000000]}}";
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)header.Length));
            f.Write(System.Text.Encoding.ASCII.GetBytes(header));
            f.Write(new byte[16]);
        }
        Assert.Contains("the file holds 16 data bytes", Fails(path).Message);
    }

    [Fact]
    public void MissingKeysAreListed()
    {
        var path = Valid("m.pth");
        var state = CheckpointFile.Read(path);
        state.Remove("stage1.0.rbr_conv.1.bn.running_var");
        state.Remove("linear.bias");
        CheckpointFile.Write(path, state, CheckpointFormat.Pth);
        var e = Fails(path);
        Assert.Contains("missing keys (2)", e.Message);
        Assert.Contains("stage1.0.rbr_conv.1.bn.running_var", e.Message);
        Assert.Contains("linear.bias", e.Message);
    }

    [Fact]
    public void UnexpectedKeysAreListed()
    {
        var path = Valid("u.pth");
        var state = CheckpointFile.Read(path);
        state.Add("stage2.0.extra.weight", state["linear.bias"]);
        CheckpointFile.Write(path, state, CheckpointFormat.Pth);
        var e = Fails(path);
        Assert.Contains("unexpected keys (1): stage2.0.extra.weight", e.Message);
    }

    [Fact]
    public void ShapeMismatchNamesTheKeyWithBothShapes()
    {
        var path = Valid("s.pth");
        var state = CheckpointFile.Read(path);
        state["stage2.1.rbr_conv.0.bn.weight"] = new CheckpointTensor(TensorDType.Float32, [7], new byte[28]);
        CheckpointFile.Write(path, state, CheckpointFormat.Pth);
        var e = Fails(path);
        Assert.Contains("'stage2.1.rbr_conv.0.bn.weight': expected [32], found [7]", e.Message);
    }

    [Fact]
    public void CheckpointOfAnotherVariantIsNamed()
    {
        using var scope = NewDisposeScope();
        var path = Dir.File("s1.pth");
        MobileOneCheckpoint.Save(new MobileOneModel(MobileOneVariants.S1(), inferenceMode: true), path);
        var e = Fails(path, MobileOneVariants.S0());
        Assert.Contains("this looks like S1, you asked for S0", e.Message);
    }

    [Fact]
    public void TheClassCountIsTheCheckpointsWhateverTheConfigurationSays()
    {
        // A configuration names an architecture (as --variant does); the classifier is what the weights hold.
        var path = Valid("c.pth");
        using var loaded = MobileOneCheckpoint.Load(path, Tiny.WithNumClasses(1000)).Model;
        Assert.Equal(4, loaded.Config.NumClasses);
    }

    [Fact]
    public void BranchCountMismatchIsExplained()
    {
        var path = Valid("k.pth");
        Assert.Contains("k=2 conv branches", Fails(path, Tiny.WithNumConvBranches(4)).Message);
    }

    [Fact]
    public void ForeignStateDictIsNotTakenForMobileOne()
    {
        var path = Dir.File("resnet.safetensors");
        var state = new StateDict { ["conv1.weight"] = new CheckpointTensor(TensorDType.Float32, [1], new byte[4]) };
        CheckpointFile.Write(path, state, CheckpointFormat.Safetensors);
        Assert.Contains("not a MobileOne checkpoint", Fails(path).Message);
    }

    [Fact]
    public void MixedFusedAndTrainTimeBlocksAreRefused()
    {
        var fused = CheckpointFile.Read(Valid("f.pth", fused: true));
        var unfused = CheckpointFile.Read(Valid("u2.pth"));
        foreach (var (k, v) in unfused.Where(kv => kv.Key.StartsWith("stage4.")))
            fused[k] = v;
        var path = Dir.File("mixed.pth");
        CheckpointFile.Write(path, fused, CheckpointFormat.Pth);
        Assert.Contains("mixes fused", Fails(path).Message);
    }

    [Fact]
    public void PickleNamingOsSystemIsRefusedWithoutRunningIt()
    {
        var marker = Dir.File("pwned");
        var pickle = new PickleBuilder().Global("os", "system").Str($"touch {marker}").Byte(0x85).Op('R').Op('.').ToArray();
        var path = Dir.File("evil.pth");
        PickleBuilder.WriteArchive(path, pickle);
        var e = Assert.Throws<UnsafeCheckpointException>(() => MobileOneCheckpoint.Load(path));
        Assert.Contains("'os.system'", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void PickleNamingEvalThroughStackGlobalIsRefused()
    {
        var pickle = new PickleBuilder().ShortStr("builtins").ShortStr("eval").Byte(0x93).ShortStr("1+1").Byte(0x85).Op('R').Op('.').ToArray();
        var path = Dir.File("eval.pth");
        PickleBuilder.WriteArchive(path, pickle);
        Assert.Contains("'builtins.eval'", Assert.Throws<UnsafeCheckpointException>(() => MobileOneCheckpoint.Load(path)).Message);
    }

    [Fact]
    public void PickleConstructingObjectsIsRefused()
    {
        // NEWOBJ on an allowed class is still object construction, which a state dict never does.
        var pickle = new PickleBuilder().Global("collections", "OrderedDict").Op(')').Byte(0x81).Op('.').ToArray();
        var path = Dir.File("newobj.pth");
        PickleBuilder.WriteArchive(path, pickle);
        Assert.Contains("constructs a Python object", Fails(path).Message);
    }

    [Fact]
    public void StorageClaimingHugeSizeIsRefusedBeforeAllocation()
    {
        var path = Dir.File("huge.pth");
        PickleBuilder.WriteArchive(path, PickleBuilder.OneTensor("stage0.reparam_conv.weight", 1_000_000_000_000, [1_000_000, 1_000_000], [1_000_000, 1]), ("0", new byte[16]));
        var e = Fails(path);
        Assert.Contains("claims a storage of 1,000,000,000,000 float32 elements", e.Message);
    }

    [Fact]
    public void TensorViewPastItsStorageIsRefused()
    {
        var path = Dir.File("view.pth");
        PickleBuilder.WriteArchive(path, PickleBuilder.OneTensor("stage0.reparam_conv.weight", 4, [100_000, 100_000], [100_000, 1]), ("0", new byte[16]));
        Assert.Contains("reaches past its storage", Fails(path).Message);
    }

    [Fact]
    public void StorageRecordMissingFromTheArchive()
    {
        var path = Dir.File("norecord.pth");
        PickleBuilder.WriteArchive(path, PickleBuilder.OneTensor("stage0.reparam_conv.weight", 4, [4], [1]));
        Assert.Contains("lacks", Fails(path).Message);
    }

    [Fact]
    public void NonContiguousTensorsAreReadThroughTheirStrides()
    {
        // A 2x3 view with strides (1, 2) of storage [0..5] is the transpose of [[0,2,4],[1,3,5]].
        var path = Dir.File("strided.pth");
        var values = new float[] { 0, 1, 2, 3, 4, 5 };
        PickleBuilder.WriteArchive(path, PickleBuilder.OneTensor("w", 6, [2, 3], [1, 2]),
            ("0", values.SelectMany(BitConverter.GetBytes).ToArray()));
        var state = CheckpointFile.Read(path);
        using var t = state["w"].ToTorch();
        Assert.Equal(new float[] { 0, 2, 4, 1, 3, 5 }, t.data<float>().ToArray());
    }
}

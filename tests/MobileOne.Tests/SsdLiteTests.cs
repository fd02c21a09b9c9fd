using System.Text.Json;
using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Detection;
using MobileOne.Zoo;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>SSDLite against torchvision's own definition: structure, parameters, head outputs, anchors and detections.</summary>
public sealed class SsdLiteTests(SsdLiteReference reference, ITestOutputHelper output) : IClassFixture<SsdLiteReference>
{
    private static SsdLite LoadReference(SsdLiteReference reference)
    {
        var detector = new DetectorConfig(DetectorConfig.MobileNetV3Large).Create();
        MobileOneCheckpoint.LoadInto(detector, CheckpointFile.Read(reference.File("weights.pth")), "torchvision's ssdlite320_mobilenet_v3_large");
        detector.eval();
        return detector;
    }

    [SkippableFact]
    public void StateDictAndParameterCountEqualTorchvisions()
    {
        using var info = JsonDocument.Parse(File.ReadAllText(reference.File("info.json")));
        using var scope = NewDisposeScope();
        var detector = new DetectorConfig(DetectorConfig.MobileNetV3Large).Create();
        var expected = info.RootElement.GetProperty("keys").EnumerateArray()
            .Select(k => $"{k[0].GetString()} {CheckpointTensor.FormatShape(k[1].EnumerateArray().Select(d => d.GetInt64()).ToArray())}").ToList();
        var ours = MobileOneCheckpoint.ToStateDict(detector).Select(kv => $"{kv.Key} {CheckpointTensor.FormatShape(kv.Value.Shape)}").ToList();
        Assert.Equal(expected, ours);
        Assert.Equal(info.RootElement.GetProperty("params").GetInt64(), detector.parameters().Sum(p => p.numel()));
        Assert.Equal(3_440_060, detector.parameters().Sum(p => p.numel()));
    }

    [SkippableFact]
    public void TorchvisionsWeightsGiveItsHeadOutputsAndAnchors()
    {
        using var scope = NewDisposeScope();
        var detector = LoadReference(reference);
        var x = NpyFile.Read(reference.File("input.npy"));
        using var noGrad = no_grad();
        var (codes, logits, grids) = detector.ForwardHeads(x);
        double codeDiff = TensorAssert.Close(NpyFile.Read(reference.File("codes.npy")), codes, 1e-4, "box codes");
        double logitDiff = TensorAssert.Close(NpyFile.Read(reference.File("logits.npy")), logits, 1e-4, "class logits");
        Assert.Equal([(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)], grids);
        var anchors = detector.Anchors(grids, 320, 320);
        Assert.Equal(3234, anchors.shape[0]);
        Assert.Equal(0, TensorAssert.MaxAbsDiff(NpyFile.Read(reference.File("anchors.npy")), anchors));
        output.WriteLine($"max |ours - torchvision|: codes {codeDiff:E2}, logits {logitDiff:E2}; anchors equal");
    }

    [SkippableFact]
    public void PostprocessingGivesTorchvisionsDetections()
    {
        using var scope = NewDisposeScope();
        var detector = LoadReference(reference);
        // torchvision's own head outputs, so that only the post-processing is compared.
        var codes = NpyFile.Read(reference.File("codes.npy"))[0];
        var logits = NpyFile.Read(reference.File("logits.npy"))[0];
        var anchors = NpyFile.Read(reference.File("anchors.npy"));
        var found = detector.Postprocessor.Run(codes, logits, anchors, detector.Coder, 320, 320);
        var boxes = NpyFile.Read(reference.File("boxes.npy")).data<float>().ToArray();
        var scores = NpyFile.Read(reference.File("scores.npy")).data<float>().ToArray();
        var labels = NpyFile.Read(reference.File("labels.npy")).to(int32).data<int>().ToArray();
        Assert.Equal(scores.Length, found.Count);
        for (int i = 0; i < found.Count; i++)
        {
            Assert.Equal(labels[i], found[i].Label);
            Assert.Equal(scores[i], found[i].Score, 1e-6f);
            float[] ours = [found[i].X1, found[i].Y1, found[i].X2, found[i].Y2];
            for (int c = 0; c < 4; c++) Assert.Equal(boxes[4 * i + c], ours[c], 1e-3f);
        }
        output.WriteLine($"{found.Count} detections equal torchvision's (best {found[0].Score:F4}, class {found[0].Label})");
    }
}

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

/// <summary>The loss of torchvision's SSD on its own head outputs, against ours.</summary>
public sealed class SsdLossParityTests(SsdLiteReference reference) : IClassFixture<SsdLiteReference>
{
    [SkippableFact]
    public void LossEqualsTorchvisionsComputeLoss()
    {
        using var info = JsonDocument.Parse(File.ReadAllText(reference.File("info.json")));
        using var scope = NewDisposeScope();
        var codes = NpyFile.Read(reference.File("codes.npy"));
        var logits = NpyFile.Read(reference.File("logits.npy"));
        var anchors = NpyFile.Read(reference.File("anchors.npy"));
        BoxTargets[] targets =
        [
            new(tensor(new float[] { 10, 20, 120, 200, 150, 140, 300, 310, 40, 40, 52, 49 }, [3, 4]), tensor(new long[] { 3, 17, 90 })),
            new(zeros(0, 4), zeros(0, int64)),
        ];
        using var loss = new SsdLoss(new BoxCoder()).Compute(codes, logits, anchors, targets);
        var expected = info.RootElement.GetProperty("loss");
        Assert.Equal(expected.GetProperty("bbox_regression").GetDouble(), loss.Regression.item<float>(), 4);
        Assert.Equal(expected.GetProperty("classification").GetDouble(), loss.Classification.item<float>(), 4);
        // The small box (12 x 9 pixels) overlaps no anchor by 0.5, yet is matched through its best anchor.
        using var iou = BoxOps.Iou(targets[0].Boxes, anchors);
        Assert.True(iou[2].max().item<float>() < 0.5f);
        using var matches = SsdMatcher.Match(iou);
        Assert.Equal(info.RootElement.GetProperty("matched")[0].GetInt32(), matches.ge(0).sum().item<long>());
        Assert.Equal(1, matches.eq(2).sum().item<long>());
    }
}

/// <summary>SSD's pieces on hand-made cases.</summary>
public sealed class SsdPiecesTests
{
    [Fact]
    public void DefaultBoxesFollowTheScaleRule()
    {
        var generator = DefaultBoxGenerator.SsdLite();
        // Six maps from 0.2 to 0.95: a step of 0.15, then 1.0 for the last map's second square box.
        Assert.Equal([0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.0], generator.Scales.Select(s => Math.Round(s, 12)));
        Assert.All(generator.AnchorsPerLocation, a => Assert.Equal(6, a));
        var boxes = generator.Generate([(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)], 320, 320);
        Assert.Equal(3234 * 4, boxes.Length);
        // The first box: cell (0, 0) of the 20x20 map, centre (8, 8), side 0.2 x 320 = 64.
        Assert.Equal([8 - 32f, 8 - 32f, 8 + 32f, 8 + 32f], boxes[..4]);
        // Its third box has aspect ratio 2: w = 0.2 sqrt(2) x 320, h = 0.2 / sqrt(2) x 320.
        float w = (float)(0.2 * Math.Sqrt(2)) * 320, h = (float)(0.2 / Math.Sqrt(2)) * 320;
        Assert.Equal(w, boxes[10] - boxes[8], 3);
        Assert.Equal(h, boxes[11] - boxes[9], 3);
    }

    [Fact]
    public void BoxCoderEncodesByHandAndRoundTrips()
    {
        using var scope = NewDisposeScope();
        var coder = new BoxCoder();
        var anchor = tensor(new float[] { 0, 0, 10, 10 }, [1, 4]);
        // Centre moves by (5, 5) on a 10-pixel anchor: dx = 10 x 5 / 10 = 5; twice the width: dw = 5 log 2.
        var code = coder.Encode(tensor(new float[] { 0, 0, 20, 20 }, [1, 4]), anchor);
        Assert.Equal([5f, 5f, (float)(5 * Math.Log(2)), (float)(5 * Math.Log(2))], code.data<float>().ToArray(), new FloatTolerance(1e-5f));

        var g = new TorchSharp.torch.Generator(3);
        var anchors = RandomBoxes(500, g);
        var boxes = RandomBoxes(500, g);
        var decoded = coder.Decode(coder.Encode(boxes, anchors), anchors);
        Assert.True(TensorAssert.MaxAbsDiff(boxes, decoded) < 1e-3);
        // A wild code is clamped: exp(log(1000/16)) x the anchor, not infinity.
        var wild = coder.Decode(tensor(new float[] { 0, 0, 1e6f, 1e6f }, [1, 4]), anchor);
        Assert.Equal(1000f / 16 * 10, (wild[0, 2] - wild[0, 0]).item<float>(), 2);
    }

    private static Tensor RandomBoxes(int n, TorchSharp.torch.Generator g)
    {
        var xy = rand(n, 2, generator: g) * 300;
        // Sizes 10 to 110 pixels: ratios within the decoder's clamp (62.5).
        var wh = rand(n, 2, generator: g) * 100 + 10;
        return cat([xy, xy + wh], 1);
    }

    [Fact]
    public void MatchingKeepsEveryBoxsBestAnchor()
    {
        using var scope = NewDisposeScope();
        // Box 0 overlaps anchor 0 by 0.7 and anchor 1 by 0.6; box 1 overlaps anchor 1 by 0.65 and at most 0.3 elsewhere;
        // box 2 overlaps nothing by 0.5, best anchor 3 (0.4). Anchor 4 is background.
        var iou = tensor(new float[]
        {
            0.7f, 0.6f, 0.1f, 0.0f, 0.0f,
            0.2f, 0.65f, 0.3f, 0.0f, 0.1f,
            0.0f, 0.0f, 0.2f, 0.4f, 0.1f,
        }, [3, 5]);
        Assert.Equal([0L, 1, -1, 2, -1], SsdMatcher.Match(iou).data<long>().ToArray());
        // Two boxes whose best anchor is the same: the later box takes it.
        var shared = tensor(new float[] { 0.9f, 0.1f, 0.8f, 0.2f }, [2, 2]);
        Assert.Equal([1L, -1], SsdMatcher.Match(shared).data<long>().ToArray());
        Assert.Equal([-1L, -1, -1], SsdMatcher.Match(zeros(0, 3)).data<long>().ToArray());
    }

    [Fact]
    public void HardNegativeMiningCountsThreeNegativesAPositive()
    {
        using var scope = NewDisposeScope();
        // Eight anchors in a row, one box on anchor 0 (label 1). Two classes; each anchor's logits are
        // (0, z): the background's cross-entropy is log(1 + e^z), so the anchors with the largest z are the hard negatives.
        var anchors = cat(Enumerable.Range(0, 8).Select(i => tensor(new float[] { 20 * i, 0, 20 * i + 10, 10 }, [1, 4])).ToArray(), 0);
        float[] z = [0.5f, 3f, -1f, 2f, 0f, 4f, -2f, 1f];
        var logits = stack([zeros(8), tensor(z)], 1).unsqueeze(0);
        var codes = zeros(1, 8, 4);
        var target = new BoxTargets(tensor(new float[] { 0, 0, 10, 10 }, [1, 4]), tensor(new long[] { 1 }));
        using var loss = new SsdLoss(new BoxCoder()).Compute(codes, logits, anchors, [target]);
        // Positive: -log softmax = log(1 + e^-0.5). Hardest three negatives: z = 4, 3, 2.
        double expected = Math.Log(1 + Math.Exp(-0.5)) + Math.Log(1 + Math.Exp(4)) + Math.Log(1 + Math.Exp(3)) + Math.Log(1 + Math.Exp(2));
        Assert.Equal(expected, loss.Classification.item<float>(), 4);
        // The box equals its anchor, so the target codes are 0 and so are the predicted ones.
        Assert.Equal(0, loss.Regression.item<float>());
    }

    [Fact]
    public void NmsDropsOverlapsWithinALabelOnly()
    {
        float[] boxes =
        [
            0, 0, 10, 10,    // 0: score 0.9
            1, 1, 11, 11,    // 1: 0.8, IoU with 0 = 81 / 119 = 0.68 > 0.55
            20, 20, 30, 30,  // 2: 0.7, apart
            0, 0, 10, 10,    // 3: 0.95, the same place as 0, another label
            2, 0, 12, 10,    // 4: 0.85, IoU with 0 = 80 / 120 = 0.67
        ];
        float[] scores = [0.9f, 0.8f, 0.7f, 0.95f, 0.85f];
        Assert.Equal([0, 2], NonMaxSuppression.Keep(boxes, scores, [0, 1, 2], 0.55));
        // At 0.7 the 0.68 overlap survives.
        Assert.Equal([0, 1, 2], NonMaxSuppression.Keep(boxes, scores, [0, 1, 2], 0.7));
        Assert.Equal([3, 0, 2], NonMaxSuppression.KeepPerLabel(boxes, scores, [1, 1, 1, 2, 1], 0.55));
        Assert.Equal(81f / 119, NonMaxSuppression.Iou(boxes, 0, 1), 6);
    }
}

internal sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(float obj) => 0;
}

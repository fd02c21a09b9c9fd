using System.Text.Json;
using MobileOne.Benchmarks;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Study;
using MobileOne.Detection;
using MobileOne.Zoo;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>The metric study: the probe network, its ONNX forms, the correlation summary and the CLI verbs.</summary>
public sealed class StudyTests(ITestOutputHelper output) : FileTest
{
    [Fact]
    public void ProbeNetworkHasThirtyConvolutionsAndTheSameMacsInEveryPlainVariant()
    {
        using var scope = NewDisposeScope();
        var plain = ProbeNetwork.Create(ProbeVariant.Blocks[0]);
        Assert.Equal(30, plain.modules().OfType<TorchSharp.Modules.Conv2d>().Count());
        var macs = NetworkCost.Measure(plain).Macs;
        foreach (var v in ProbeVariant.Activations.Where(v => v.Block == ProbeBlock.Plain).Concat(ProbeVariant.Blocks.Where(v => v.Block is ProbeBlock.Skip or ProbeBlock.MultiBranchFused)))
            Assert.Equal(macs, NetworkCost.Measure(ProbeNetwork.Create(v)).Macs);
        output.WriteLine($"probe network: {macs:N0} MACs at 224");
    }

    public static TheoryData<string, int> ProbeVariantsAndOpsets()
    {
        var data = new TheoryData<string, int>();
        foreach (var v in ProbeVariant.Activations.Concat(ProbeVariant.Blocks).Select(v => v.Name).Distinct())
            foreach (var opset in new[] { 13, 20 })
                data.Add(v, opset);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(ProbeVariantsAndOpsets))]
    public void ProbeVariantExportsToOnnxThatRunsLikeTorchSharp(string name, int opset)
    {
        // Opset 13 spells Hardswish and GELU with older operators, opset 20 has both as single nodes.
        PythonReference.Require();
        using var scope = NewDisposeScope();
        var variant = ProbeVariant.Activations.Concat(ProbeVariant.Blocks).First(v => v.Name == name);
        var net = ModelFactory.Calibrate(ProbeNetwork.Create(variant, numClasses: 10), seed: 2, size: 64);
        var path = Dir.File($"probe_{opset}.onnx");
        OnnxExporter.Export(net, path, new OnnxExportOptions { Opset = opset, InputHeight = 64, InputWidth = 64 });
        if (opset <= 17) OnnxExportTests.AssertOnnxCheckerAccepts(path); // Debian's onnx 1.12 knows opsets up to 17
        OnnxParity.AssertRunsLikeTorch(net, path, 1, 64, 64, output);
    }

    [Fact]
    public void CorrelationsOfAStudyFollowTheRanks()
    {
        LatencyStats Ms(double ms) => new(ms, ms, ms, ms, 0, 1, 1);
        // Latency rises with MACs everywhere; parameters are in the opposite order except for one swap.
        StudyRow[] rows =
        [
            new("a", "x", false, 40, 100, Ms(1)),
            new("b", "x", false, 30, 200, Ms(2)),
            new("c", "x", false, 10, 300, Ms(3)),
            new("d", "x", true, 20, 400, Ms(4)),
        ];
        var c = LatencyStudy.Correlate(rows, resamples: 200);
        Assert.Equal(1.0, c[0].Spearman, 12);
        Assert.Equal(1.0, c[0].Kendall, 12);
        // params ranks 4, 3, 1, 2 against 1, 2, 3, 4: d^2 = 9 + 1 + 4 + 4 = 18, rho = 1 - 6 * 18 / 60 = -0.8;
        // pairs: 1 concordant (c, d), 5 discordant: tau = -4 / 6.
        Assert.Equal(-0.8, c[1].Spearman, 12);
        Assert.Equal(-4.0 / 6, c[1].Kendall, 12);
        Assert.Equal(LatencyStudy.PaperMacsCorrelation, c[0].PaperMobile);
        Assert.InRange(c[1].Spearman, c[1].SpearmanLow, c[1].SpearmanHigh);
    }

    [Fact]
    public void ZooJsonListsEveryNetworkWithItsCounts()
    {
        var r = CliTests.Run("zoo", "--json");
        Assert.Equal(0, r.Code);
        var list = JsonDocument.Parse(r.Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(NetworkZoo.Entries.Concat(DetectorZoo.Entries).Concat(MobileOne.Segmentation.SegmenterZoo.Entries).Select(e => e.Name), list.Select(e => e.GetProperty("name").GetString()));
        var v2 = list.Single(e => e.GetProperty("name").GetString() == "mobilenet_v2");
        Assert.Equal(3_504_872, v2.GetProperty("params").GetInt64());
        Assert.Equal(300_774_272, v2.GetProperty("macs").GetInt64());
        var s0 = list.Single(e => e.GetProperty("name").GetString() == "mobileone_s0");
        Assert.True(s0.GetProperty("train_macs").GetInt64() > s0.GetProperty("macs").GetInt64());
        // torchvision's detector, at its own size and class count.
        var ssd = list.Single(e => e.GetProperty("name").GetString() == "ssdlite320_mobilenet_v3_large");
        Assert.Equal(("detection", 91, 320, 3_440_060L), (ssd.GetProperty("task").GetString(), ssd.GetProperty("num_classes").GetInt32(),
            ssd.GetProperty("input_size").GetInt32(), ssd.GetProperty("params").GetInt64()));
        // torchvision's segmenter, without its auxiliary head, measured at 512x512.
        var deeplab = list.Single(e => e.GetProperty("name").GetString() == "deeplabv3_mobilenet_v3_large");
        Assert.Equal(("segmentation", 21, 512, 11_025_477L), (deeplab.GetProperty("task").GetString(), deeplab.GetProperty("num_classes").GetInt32(),
            deeplab.GetProperty("input_size").GetInt32(), deeplab.GetProperty("params").GetInt64()));
    }

    [Fact]
    public void StudyLatencyWritesTablesAndPlots()
    {
        var dir = Dir.File("study");
        int threadsBefore = torch.get_num_threads();
        var r = CliTests.Run("study", "latency", "--only", "mobilenet_v3_small", "shufflenet_v2_x1_0", "mobileone_s0", "mobileone_s0",
            "--engine", "onnx", "--engine", "torch", "--threads", "1", "--runs", "3", "--warmup", "0", "--out", dir);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(threadsBefore, torch.get_num_threads());
        Assert.Contains("Spearman", r.Out);
        foreach (var f in new[] { "latency.md", "latency.json", "latency_vs_macs_onnx_1t.png", "latency_vs_params_onnx_1t.png", "latency_vs_macs_torch_1t.png" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "latency.json"))).RootElement;
        Assert.Equal(["onnx", "torch"], json.GetProperty("runs").EnumerateArray().Select(x => x.GetProperty("engine").GetString()));
        foreach (var run in json.GetProperty("runs").EnumerateArray())
        {
            // The repeated name is measured once.
            Assert.Equal(3, run.GetProperty("networks").GetArrayLength());
            Assert.Equal(2, run.GetProperty("correlations").GetArrayLength());
            Assert.All(run.GetProperty("networks").EnumerateArray(), n => Assert.True(n.GetProperty("median_ms").GetDouble() > 0));
        }
    }

    [Theory]
    [InlineData("blocks")]
    [InlineData("activations")]
    public void StudyProbeWritesItsTable(string study)
    {
        var dir = Dir.File(study);
        var r = CliTests.Run("study", study, "--runs", "3", "--warmup", "0", "--out", dir);
        Assert.True(r.Code == 0, r.Err);
        var md = File.ReadAllText(Path.Combine(dir, $"{study}_onnx_1t.md"));
        foreach (var v in study == "blocks" ? ProbeVariant.Blocks : ProbeVariant.Activations) Assert.Contains($"| {v.Name} |", md);
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, $"{study}_onnx_1t.json"))).RootElement;
        var variants = json.GetProperty("variants").EnumerateArray().ToList();
        Assert.Equal(1.0, variants[0].GetProperty("ratio").GetDouble());
        Assert.All(variants, v => Assert.True(v.GetProperty("median_ms").GetDouble() > 0));
    }

    [Fact]
    public void StudyRejectsTooFewOrUnknownNetworks()
    {
        CliTests.AssertCleanError(CliTests.Run("study", "latency", "--only", "resnet18", "mobileone_s0", "--out", Dir.File("x")), 1, "at least 3 networks");
        CliTests.AssertCleanError(CliTests.Run("study", "latency", "--only", "resnet18", "resnet18", "mobileone_s0", "--out", Dir.File("x")), 1, "at least 3 networks");
        CliTests.AssertCleanError(CliTests.Run("study", "latency", "--only", "resnet18", "mobileone_s0", "vgg16", "--out", Dir.File("x")), 1, "unknown network 'vgg16'");
        CliTests.AssertCleanError(CliTests.Run("study", "activations", "--threads", "0"), 2, "--threads must be at least 1");
        CliTests.AssertCleanError(CliTests.Run("study", "blocks", "--engine", "tensorrt"), 2, "tensorrt");
    }
}

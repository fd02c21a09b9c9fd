using System.Text.Json;
using Google.Protobuf;
using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.IO;
using MobileOne.Training;
using TorchSharp.Modules;
using static MobileOne.Tests.CliTests;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>
/// The deploy path of a model trained here, as a new user takes it: a 1-channel 28x28 classifier through
/// reparam, export, predict, eval and bench, each with the run's size, channels, normalisation and class names;
/// and checks that fail write nothing.
/// </summary>
public sealed class DeployPathTests : FileTest
{
    private static readonly string Photo = Path.Combine(Fixtures.Root, "images", "chelsea.png");

    [SkippableFact]
    public void ATrainedFashionMnistModelGoesThroughReparamExportPredictEvalAndBench()
    {
        Fixtures.Require();
        Fixtures.RequireFashionMnist();
        var run = Dir.File("run");
        var trained = Run("train", "--data", "fashion-mnist", "--epochs", "1", "--train-subset", "64", "--val-subset", "32", "--batch", "32",
            "--threads", "1", "--workers", "1", "--out", run);
        Assert.True(trained.Code == 0, trained.Err);
        var last = Path.Combine(run, "last.pth.tar");
        Assert.Equal(FashionMnist.Classes, new RunFolder(run).ReadClassNames());

        var fused = Path.Combine(run, "fused.pth.tar");
        var reparam = Run("reparam", "--checkpoint", last, "--output", fused);
        Assert.True(reparam.Code == 0, reparam.Err);
        Assert.Contains("random 1x1x28x28 batch", reparam.Out);

        var onnx = Dir.File("fm.onnx");
        var export = Run("export", "--checkpoint", last, "--output", onnx);
        Assert.True(export.Code == 0, export.Err);
        Assert.Contains("input [N, 1, 28, 28], 10 class names", export.Out);
        Assert.Contains("random 1x1x28x28 batch", export.Out);
        using (var engine = new OnnxEngine(onnx))
        {
            Assert.Equal((1, 28, 28), (engine.InputChannels, engine.FixedHeight, engine.FixedWidth));
            Assert.Equal(FashionMnist.Classes, engine.ClassNames());
            Assert.Equal(new ImagePreprocessor { Size = 28, CropPct = 1, Channels = 1 }.Size, engine.Preprocessing().Size);
            Assert.Equal(FashionMnist.Mean, engine.Preprocessing().Mean[0]);
        }

        // The checkpoint (train-time and folded) and its export classify a photo alike, in Fashion-MNIST's names.
        var tops = new[] { ("--checkpoint", last), ("--checkpoint", fused), ("--onnx", onnx) }.Select(source =>
        {
            var r = Run("predict", source.Item1, source.Item2, Photo, "--json", "--topk", "3");
            Assert.True(r.Code == 0, r.Err);
            var root = JsonDocument.Parse(r.Out).RootElement;
            Assert.Equal(1, root.GetProperty("preprocessing").GetProperty("channels").GetInt32());
            Assert.Equal(28, root.GetProperty("preprocessing").GetProperty("size").GetInt32());
            return root.GetProperty("images")[0].GetProperty("predictions").EnumerateArray()
                .Select(p => (Label: p.GetProperty("label").GetString()!, P: p.GetProperty("probability").GetDouble())).ToList();
        }).ToList();
        Assert.All(tops[0], p => Assert.Contains(p.Label, FashionMnist.Classes));
        foreach (var other in tops.Skip(1))
        {
            Assert.Equal(tops[0].Select(p => p.Label), other.Select(p => p.Label));
            Assert.All(tops[0].Zip(other), pair => Assert.Equal(pair.First.P, pair.Second.P, 4));
        }

        var eval = Run("eval", "--checkpoint", last, "--data", "fashion-mnist", "--subset", "40", "--json", "--confusion", Dir.File("confusion.png"));
        Assert.True(eval.Code == 0, eval.Err);
        var perClass = JsonDocument.Parse(eval.Out).RootElement.GetProperty("per_class").EnumerateArray().Select(c => c.GetProperty("class").GetString());
        Assert.Equal(FashionMnist.Classes, perClass);

        var bench = Run("bench", "--onnx", onnx, "--runs", "3", "--warmup", "1", "--json");
        Assert.True(bench.Code == 0, bench.Err);
        Assert.Equal(new[] { 28, 28 }, JsonDocument.Parse(bench.Out).RootElement.GetProperty("input_size").EnumerateArray().Select(v => v.GetInt32()));
        var benchCheckpoint = Run("bench", "--checkpoint", last, "--runs", "3", "--warmup", "1", "--json");
        Assert.True(benchCheckpoint.Code == 0, benchCheckpoint.Err);
        Assert.Equal(new[] { 28, 28 }, JsonDocument.Parse(benchCheckpoint.Out).RootElement.GetProperty("input_size").EnumerateArray().Select(v => v.GetInt32()));
    }

    [SkippableFact]
    public void AFoldedCheckpointWrittenOutsideItsRunKeepsTheRunsSettings()
    {
        Fixtures.Require();
        var checkpoint = SeededRun("run", ["boot", "sock", "hat"], data: Dir.File("photos"));
        var elsewhere = Path.Combine(Dir.Path, "deploy", "fused.pth.tar");
        var reparam = Run("reparam", "--checkpoint", checkpoint, "--output", elsewhere);
        Assert.True(reparam.Code == 0, reparam.Err);
        Assert.Contains("copied the training run's", reparam.Out);
        var fromRun = Run("predict", "--checkpoint", checkpoint, Photo, "--json");
        var fromCopy = Run("predict", "--checkpoint", elsewhere, Photo, "--json");
        Assert.True(fromRun.Code == 0 && fromCopy.Code == 0, fromRun.Err + fromCopy.Err);
        Assert.Contains("\"label\":\"sock\"", fromCopy.Out);
        Assert.Equal(fromRun.Out, fromCopy.Out.Replace(elsewhere, checkpoint));

        // Another run's description is never overwritten.
        var second = Run("reparam", "--checkpoint", SeededRun("other", ["a", "b"]), "--output", Path.Combine(Dir.Path, "deploy", "other.pth.tar"));
        Assert.True(second.Code == 0, second.Err);
        Assert.Contains("already holds a run's configuration", second.Err);
        Assert.Equal(["boot", "sock", "hat"], new RunFolder(Path.Combine(Dir.Path, "deploy")).ReadClassNames());
    }

    [SkippableFact]
    public void AnImageFoldersClassNamesTravelFromTheRunIntoTheExportAndPredictions()
    {
        Fixtures.Require();
        string[] classes = ["boot", "sock", "hat"];
        var checkpoint = SeededRun("folders", classes, data: Dir.File("photos"));
        var onnx = Dir.File("folders.onnx");
        var export = Run("export", "--checkpoint", checkpoint, "--output", onnx);
        Assert.True(export.Code == 0, export.Err);
        using (var engine = new OnnxEngine(onnx)) Assert.Equal(classes, engine.ClassNames());
        foreach (var source in new[] { "--checkpoint", "--onnx" })
        {
            var r = Run("predict", source, source == "--onnx" ? onnx : checkpoint, Photo, "--topk", "3");
            Assert.True(r.Code == 0, r.Err);
            Assert.All(classes, c => Assert.Contains($"  {c} (", r.Out));
        }
        // An explicit size still overrides the run's.
        var resized = Run("export", "--checkpoint", checkpoint, "--output", Dir.File("40.onnx"), "--input-size", "40");
        Assert.True(resized.Code == 0, resized.Err);
        using var at40 = new OnnxEngine(Dir.File("40.onnx"));
        Assert.Equal(40, at40.FixedHeight);
    }

    [SkippableFact]
    public void TheQuickstartsExportRecordsItsPreprocessingAndClassNamesForPredict()
    {
        Fixtures.Require();
        using var model = ModelFactory.Calibrated(QuickstartModel.FashionMnist(), seed: 4, size: 28);
        var run = new RunFolder(Dir.File("quickstart"));
        Quickstart.QuickstartPipeline.ExportOnnx(model, Quickstart.QuickstartPipeline.Recipe(1, 0, 1), FashionMnist.Classes, run);
        using var classifier = ImageClassifier.FromOnnx(run.File("model.onnx"));
        Assert.Equal(FashionMnist.Classes, classifier.Labels);
        Assert.Equal((1, 28, 1.0, FashionMnist.Mean, FashionMnist.Std),
            (classifier.Preprocessing.Channels, classifier.Preprocessing.Size, classifier.Preprocessing.CropPct, classifier.Preprocessing.Mean[0], classifier.Preprocessing.Std[0]));
        Assert.Contains(classifier.Classify(Photo, 1)[0].Label, FashionMnist.Classes);
    }

    [SkippableFact]
    public void AnExportWhoseCheckFailsWritesNothingAndKeepsTheOldFile()
    {
        Fixtures.Require();
        var checkpoint = SeededRun("nan", FashionMnist.Classes, spoil: true);
        var onnx = Path.Combine(Dir.Path, "out", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(onnx)!);
        File.WriteAllText(onnx, "the previous export");
        AssertCleanError(Run("export", "--checkpoint", checkpoint, "--output", onnx), 1, "the file was not written");
        Assert.Equal("the previous export", File.ReadAllText(onnx));
        Assert.Equal(new[] { onnx }, Directory.GetFiles(Path.GetDirectoryName(onnx)!));
    }

    [SkippableFact]
    public void AReparamWhoseFoldCheckFailsWritesNothing()
    {
        Fixtures.Require();
        var checkpoint = SeededRun("nan", FashionMnist.Classes, spoil: true);
        var output = Path.Combine(Dir.Path, "out", "fused.pth.tar");
        AssertCleanError(Run("reparam", "--checkpoint", checkpoint, "--output", output), 1, "the fused model disagrees with the train-time model");
        Assert.False(Directory.Exists(Path.GetDirectoryName(output)) && Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(output)!).Any());
    }

    [Fact]
    public void AVerificationThatThrowsLeavesNoFile()
    {
        var path = Dir.File("x.bin");
        string? staged = null;
        var e = Assert.Throws<MobileOneException>(() => AtomicFile.Write(path, s => s.Write([1, 2, 3]), tmp =>
        {
            staged = tmp;
            Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(tmp));
            throw new MobileOneException("refused");
        }));
        Assert.Equal("refused", e.Message);
        Assert.NotEqual(path, staged);
        Assert.Empty(Directory.GetFiles(Dir.Path));
        AtomicFile.Write(path, s => s.Write([4]), tmp => Assert.True(File.Exists(tmp)));
        Assert.Equal(new byte[] { 4 }, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("[\"a\",\"b\"]")]
    [InlineData("[\"a\",\"b\",\"c\",\"d\",\"e\"]")]
    [InlineData("a,b,c,d")]
    [InlineData("[\"a\",null,\"c\",\"d\"]")]
    public void ClassNamesInTheMetadataThatDoNotNameEveryOutputAreRefused(string value)
    {
        var model = ModelFactory.Calibrated(QuickstartModel.SmallImages(1, 4), seed: 2, size: 28);
        var proto = OnnxExporter.Build(model, new OnnxExportOptions { InputHeight = 28, InputWidth = 28 });
        proto.MetadataProps.Add(new Export.Onnx.StringStringEntryProto { Key = OnnxExporter.ClassNamesKey, Value = value });
        var path = Dir.File("names.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        var e = Assert.Throws<MobileOneException>(() => ImageClassifier.FromOnnx(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("class_names", e.Message);
    }

    [Fact]
    public void ARunsCorruptClassNamesFileIsNamed()
    {
        var checkpoint = SeededRun("corrupt", ["a", "b"]);
        var names = Path.Combine(Path.GetDirectoryName(checkpoint)!, RunFolder.ClassNamesName);
        foreach (var text in new[] { "{\"a\": 1}", "[]", "[\"a\", null]", "not json" })
        {
            File.WriteAllText(names, text);
            var e = Assert.Throws<MobileOneException>(() => DeploySettings.ForCheckpoint(checkpoint));
            Assert.Contains(names, e.Message);
        }
    }

    /// <summary>
    /// A run folder as train writes it (config.json, model_config.json, classes.json) around a seeded 1-channel
    /// 28x28 model; <paramref name="spoil"/> gives a BatchNorm a NaN mean, as a corrupt checkpoint would hold.
    /// </summary>
    private string SeededRun(string name, IReadOnlyList<string> classes, string? data = null, bool spoil = false)
    {
        var run = new RunFolder(Dir.File(name));
        var config = QuickstartModel.SmallImages(1, classes.Count);
        var options = TrainOptions.FashionMnist() with { Data = data ?? TrainingData.FashionMnistName, Model = config.ToJson() };
        run.WriteConfig(options, config.ToJson(), classes);
        using var model = ModelFactory.Calibrated(config, seed: 1, size: 28);
        if (spoil)
            using (no_grad()) model.modules().OfType<BatchNorm2d>().First().running_mean!.fill_(float.NaN);
        var path = run.File("last.pth.tar");
        MobileOneCheckpoint.Save(model, path);
        return path;
    }
}

using MobileOne.Checkpoints;
using MobileOne.Detection;
using MobileOne.Models;

namespace MobileOne.Tests;

/// <summary>Detector configurations and checkpoints that must be refused, each with what was wrong.</summary>
public sealed class BadDetectorTests : FileTest
{
    private string Config(string json)
    {
        var path = Dir.File("model_config.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Theory]
    [InlineData("{\"task\": \"detect\", \"backbone\": \"resnet_9000\", \"num_classes\": 11}", "unknown detector backbone 'resnet_9000'")]
    [InlineData("{\"task\": \"detect\", \"backbone\": \"mobileone_s0\", \"num_classes\": 1}", "2 to 10000 classes")]
    [InlineData("{\"task\": \"detect\", \"backbone\": \"mobileone_s0\", \"num_classes\": 2000000000}", "2 to 10000 classes")]
    [InlineData("{\"task\": \"detect\", \"backbone\": \"mobileone_s0\", \"image_size\": 100000}", "32 to 2048 pixels")]
    [InlineData("{\"task\": \"classify\", \"backbone\": \"mobileone_s0\"}", "task 'classify', not 'detect'")]
    [InlineData("{\"task\": \"detect\", \"backbone\": \"mobileone_s0\", \"num_classes\": 3, \"categories\": [{\"id\": 1, \"name\": \"a\"}]}", "1 categories named for 2 classes")]
    [InlineData("{\"task\": \"detect\", \"backbone\": ", "not a detector configuration")]
    public void ABadConfigurationIsRefusedWithWhatIsWrong(string json, string expected)
    {
        var path = Config(json);
        var e = Assert.Throws<MobileOneException>(() => DetectorConfig.FromJson(IO.BoundedRead.SmallText(path), path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AnOversizedConfigurationIsNotRead()
    {
        var path = Config("{\"task\": \"detect\", \"backbone\": \"mobileone_s0\", \"pad\": \"" + new string('x', IO.BoundedRead.MaxConfigBytes) + "\"}");
        Assert.Contains("larger than", Assert.Throws<MobileOneException>(() => DetectorCheckpoint.Load(Dir.File("any.pth.tar"), path)).Message);
    }

    [Fact]
    public void AClassifierCheckpointIsNotADetector()
    {
        // A MobileOne classifier's weights under a detector's configuration: every key is named in the refusal's summary.
        using var classifier = new MobileOneModel(MobileOneVariants.S0(numClasses: 10));
        var weights = Dir.File("s0.pth.tar");
        MobileOneCheckpoint.Save(classifier, weights);
        var config = Config(new DetectorConfig("mobileone_s0", 11).ToJson());
        var e = Assert.Throws<CheckpointException>(() => DetectorCheckpoint.Load(weights, config));
        Assert.Contains("does not fit the model", e.Message);
        Assert.Contains("missing keys", e.Message);
    }
}

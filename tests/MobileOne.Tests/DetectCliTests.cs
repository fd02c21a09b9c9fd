using System.Text.Json;
using MobileOne.Detection.Evaluation;
using static MobileOne.Tests.CocoFiles;

namespace MobileOne.Tests;

/// <summary><c>mobileone detect score</c>.</summary>
public sealed class DetectCliTests : FileTest
{
    private (string Gt, string Dt) Files() => (
        GroundTruth(Dir.File("gt.json"), [new Image(3), new Image(8)], [1, 2],
            [new(1, 3, 1, [0, 0, 50, 50]), new(2, 8, 2, [10, 10, 200, 100])]),
        Results(Dir.File("dt.json"), [new(3, 1, [0, 0, 50, 50], 0.9), new(8, 2, [300, 300, 20, 20], 0.8)]));

    [Fact]
    public void ScorePrintsTheTwelveStatisticsAsJson()
    {
        var (gt, dt) = Files();
        var r = CliTests.Run("detect", "score", "--gt", gt, "--detections", dt, "--json");
        Assert.True(r.Code == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(CocoStats.Names, json.EnumerateObject().Select(p => p.Name));
        // Category 1 is found exactly, category 2 missed: AP50 is the mean of 1 / (1 + eps) and 0.
        Assert.Equal(0.5, json.GetProperty("AP50").GetDouble(), 1e-12);
        // Category 1's object (2,500 px^2) is medium, category 2's (20,000) large; none is small.
        Assert.Equal(-1, json.GetProperty("APs").GetDouble());
        Assert.Equal(1, json.GetProperty("APm").GetDouble(), 1e-12);
        Assert.Equal(0, json.GetProperty("APl").GetDouble());
    }

    [Fact]
    public void ScorePrintsATableWithoutJson()
    {
        var (gt, dt) = Files();
        var r = CliTests.Run("detect", "score", "--gt", gt, "--detections", dt);
        Assert.True(r.Code == 0, r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(12, lines.Length);
        Assert.Equal(" Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.500", lines[1]);
        Assert.Contains("Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.000", lines[11]);
    }

    [Fact]
    public void ABadFileIsOneLineOnStderr()
    {
        var (gt, _) = Files();
        var dt = Results(Dir.File("bad.json"), [new(4, 1, [0, 0, 5, 5], 0.5)]);
        var r = CliTests.Run("detect", "score", "--gt", gt, "--detections", dt, "--json");
        CliTests.AssertCleanError(r, 1, "image_id 4 is not an image of the ground truth");
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.Empty(r.Out);
        File.WriteAllText(gt, "{\"images\": [");
        CliTests.AssertCleanError(CliTests.Run("detect", "score", "--gt", gt, "--detections", dt), 1, "not valid JSON");
    }
}

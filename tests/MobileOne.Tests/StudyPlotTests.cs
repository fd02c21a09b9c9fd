using MobileOne.Study;
using SkiaSharp;

namespace MobileOne.Tests;

/// <summary>The study scatter plot writes a decodable 900x600 PNG and rejects points a log axis cannot show.</summary>
public class StudyPlotTests : FileTest
{
    private static readonly StudyPoint[] Points =
    [
        new("ResNet-18", 1.8, 69.8, false),
        new("MobileNetV2", 0.9, 72.0, false),
        new("EfficientNet-B0", 2.4, 77.1, false),
        new("MobileOne-S0", 0.8, 71.4, true),
        new("MobileOne-S4", 1.9, 79.4, true),
    ];

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void WritesA900By600Png(bool logX, bool logY)
    {
        var path = Dir.File("plots/study.png");  // missing folder is created
        StudyPlot.Scatter(path, "Top-1 vs latency", "latency (ms)", "top-1 (%)", Points, logX, logY);
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal(900, bitmap.Width);
        Assert.Equal(600, bitmap.Height);
        Assert.Single(Directory.GetFiles(Dir.File("plots")));  // no temporary file left behind
    }

    [Fact]
    public void LogAxesSpanningDecadesAndSinglePointsWork()
    {
        StudyPoint[] wide = [new("tiny", 0.01, 5, false), new("huge", 300, 5000, true)];
        StudyPlot.Scatter(Dir.File("wide.png"), "wide", "x", "y", wide, logX: true, logY: true);
        StudyPlot.Scatter(Dir.File("one.png"), "one", "x", "y", [new("only", 3, 3, true)], logX: true);
        Assert.True(File.Exists(Dir.File("wide.png")) && File.Exists(Dir.File("one.png")));
    }

    [Fact]
    public void BadPointsThrowNamingThePoint()
    {
        StudyPoint[] zero = [.. Points, new("Broken", 0, 50, false)];
        Assert.Equal("point 'Broken' has x = 0, but a log x axis needs positive values",
            Assert.Throws<MobileOneException>(() => StudyPlot.Scatter(Dir.File("a.png"), "t", "x", "y", zero, logX: true)).Message);
        StudyPoint[] negative = [new("Neg", 1, -2, false), .. Points];
        Assert.Equal("point 'Neg' has y = -2, but a log y axis needs positive values",
            Assert.Throws<MobileOneException>(() => StudyPlot.Scatter(Dir.File("b.png"), "t", "x", "y", negative, logY: true)).Message);
        StudyPoint[] nan = [new("Lost", double.NaN, 1, false)];
        Assert.Equal("point 'Lost' has x = NaN; values must be finite numbers",
            Assert.Throws<MobileOneException>(() => StudyPlot.Scatter(Dir.File("c.png"), "t", "x", "y", nan)).Message);
        Assert.Equal("no points to plot in 't'",
            Assert.Throws<MobileOneException>(() => StudyPlot.Scatter(Dir.File("d.png"), "t", "x", "y", [])).Message);
        Assert.False(File.Exists(Dir.File("a.png")));
        // Zero is fine on a linear axis.
        StudyPlot.Scatter(Dir.File("e.png"), "t", "x", "y", zero);
    }
}

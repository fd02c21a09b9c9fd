using MobileOne.IO;
using ScottPlot;

namespace MobileOne.Training;

/// <summary>PNG curves of a run: loss and accuracy per epoch.</summary>
public static class TrainingPlots
{
    /// <summary>
    /// Writes <c>loss.png</c> (training and validation loss) and <see cref="PlotName"/> (the task's
    /// <paramref name="metric"/> in training, when the task keeps it, on validation, and for the EMA) into
    /// <paramref name="directory"/>, atomically.
    /// </summary>
    public static void Write(IReadOnlyList<EpochMetrics> history, string directory, string metric)
    {
        if (history.Count == 0) return;
        double[] epochs = history.Select(m => (double)m.Epoch + 1).ToArray();
        Save(Path.Combine(directory, "loss.png"), "Loss", "loss",
            ("train", history.Select(m => m.TrainLoss).ToArray()), ("validation", history.Select(m => m.ValLoss).ToArray()));
        var series = new List<(string, double[])>();
        void Add(string name, Func<EpochMetrics, MetricSet?> set)
        {
            if (history.All(m => set(m) is { } s && s.TryGet(metric, out _))) series.Add((name, history.Select(m => 100 * set(m)![metric]).ToArray()));
        }
        Add($"train {metric}", m => m.Train);
        Add($"validation {metric}", m => m.Val);
        Add($"EMA validation {metric}", m => m.EmaVal);
        Save(Path.Combine(directory, PlotName(metric)), metric, $"{metric} (%)", series.ToArray());

        void Save(string path, string title, string yLabel, params (string Name, double[] Values)[] series)
        {
            var plot = new Plot();
            foreach (var (name, values) in series)
            {
                var s = plot.Add.Scatter(epochs, values);
                s.LegendText = name;
            }
            plot.Title(title);
            plot.XLabel("epoch");
            plot.YLabel(yLabel);
            plot.ShowLegend();
            AtomicFile.WriteAllBytes(path, plot.GetImageBytes(800, 500, ImageFormat.Png));
        }
    }

    /// <summary>Writes a confusion-matrix heat map (rows: true class, columns: predicted).</summary>
    public static void Confusion(EvaluationResult result, string path)
    {
        int k = result.Confusion.GetLength(0);
        var data = new double[k, k];
        for (int i = 0; i < k; i++)
        {
            double total = 0;
            for (int j = 0; j < k; j++) total += result.Confusion[i, j];
            for (int j = 0; j < k; j++) data[i, j] = total == 0 ? 0 : result.Confusion[i, j] / total;
        }
        var plot = new Plot();
        var map = plot.Add.Heatmap(data);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(map);
        if (k <= 40)
        {
            double[] ticks = Enumerable.Range(0, k).Select(i => (double)i).ToArray();
            plot.Axes.Bottom.SetTicks(ticks, result.ClassNames.ToArray());
            plot.Axes.Left.SetTicks(ticks.Select(t => (double)(k - 1 - t)).ToArray(), result.ClassNames.ToArray());
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            plot.Axes.Bottom.MinimumSize = 110;
            plot.Axes.Left.MinimumSize = 110;
        }
        plot.Title($"Confusion matrix (top-1 {100 * result.Top1:F2} %), rows: true class");
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(900, 800, ImageFormat.Png));
    }

    /// <summary>The file of the primary metric's plot: <c>accuracy.png</c> for classification's top-1, <c>METRIC.png</c> otherwise (<c>mAP.png</c>).</summary>
    public static string PlotName(string metric) => metric == "top1" ? "accuracy.png" : $"{metric}.png";
}

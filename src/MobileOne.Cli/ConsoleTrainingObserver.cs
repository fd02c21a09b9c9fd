using System.Globalization;
using MobileOne.Training;

namespace MobileOne.Cli;

/// <summary>
/// Shows training progress: a live status line (epoch, step, loss, LR, img/s, ETA) redrawn in place on
/// a terminal, plain lines every few seconds when the output is a file or a pipe; epoch summaries always.
/// </summary>
internal sealed class ConsoleTrainingObserver(CliConsole console, bool interactive) : ITrainingObserver
{
    private DateTime lastPrint = DateTime.MinValue;
    private bool lineOpen;
    private double smoothedLoss = double.NaN;

    public void Started(long step, long totalSteps, int batchesPerEpoch, string description) =>
        Write($"run folder {description}: {totalSteps:N0} steps ({batchesPerEpoch:N0} per epoch), starting at step {step:N0}");

    public void Step(StepInfo s)
    {
        smoothedLoss = double.IsNaN(smoothedLoss) ? s.Loss : 0.95 * smoothedLoss + 0.05 * s.Loss;
        var now = DateTime.UtcNow;
        if ((now - lastPrint).TotalSeconds < (interactive ? 0.25 : 10) && s.Step != s.TotalSteps) return;
        lastPrint = now;
        var inv = CultureInfo.InvariantCulture;
        int width = 24, filled = (int)(width * (double)s.Step / Math.Max(1, s.TotalSteps));
        var text = string.Format(inv, "epoch {0}/{1} step {2:N0}/{3:N0} [{4}{5}] loss {6:F4} lr {7:G3} {8:F0} img/s {9}px ETA {10}",
            s.Epoch + 1, s.Epochs, s.Step, s.TotalSteps, new string('#', filled), new string('.', width - filled),
            smoothedLoss, s.LearningRate, s.ImagesPerSecond, s.ImageSize, FormatEta(s.Eta));
        if (interactive)
        {
            console.Out.Write("\r" + text.PadRight(Math.Max(text.Length, Console.IsOutputRedirected ? 0 : Math.Min(Console.WindowWidth - 1, 160))));
            lineOpen = true;
        }
        else
        {
            console.Out.WriteLine(text);
        }
    }

    public void Epoch(EpochMetrics m) => Write(m.Describe());

    public void Message(string text) => Write(text);

    private void Write(string line)
    {
        if (lineOpen) { console.Out.WriteLine(); lineOpen = false; }
        console.Out.WriteLine(line);
    }

    private static string FormatEta(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";
}

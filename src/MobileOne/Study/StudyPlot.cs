using System.Globalization;
using MobileOne.IO;
using ScottPlot;

namespace MobileOne.Study;

/// <summary>Labelled scatter plots comparing models (for example accuracy against latency), as PNG.</summary>
public static class StudyPlot
{
    private const int Width = 900, Height = 600;

    /// <summary>
    /// Writes a 900x600 PNG scatter of <paramref name="points"/> to <paramref name="path"/> (atomically), each point labelled
    /// with its name and highlighted points drawn larger in an accent colour. A log axis plots log10 of the values and labels
    /// its ticks with the real values.
    /// </summary>
    /// <exception cref="MobileOneException">There are no points, a value is not finite, or a value on a log axis is not positive.</exception>
    public static void Scatter(string path, string title, string xLabel, string yLabel, IReadOnlyList<StudyPoint> points,
        bool logX = false, bool logY = false)
    {
        if (points.Count == 0) throw new MobileOneException($"no points to plot in '{title}'");
        foreach (var p in points)
        {
            Check(p, "x", p.X, logX);
            Check(p, "y", p.Y, logY);
        }
        double[] xs = points.Select(p => logX ? Math.Log10(p.X) : p.X).ToArray();
        double[] ys = points.Select(p => logY ? Math.Log10(p.Y) : p.Y).ToArray();

        // Explicit limits, with extra room on the right for the labels, so log ticks can be chosen for the visible range.
        var (xLow, xHigh) = Limits(xs, rightPad: 0.3);
        var (yLow, yHigh) = Limits(ys, rightPad: 0.1);

        var plot = new Plot();
        var plain = Colors.SteelBlue;
        var accent = Colors.Crimson;
        var placed = new List<(double X0, double Y0, double X1, double Y1)>();
        // Highlighted points last so they are drawn on top; their labels are placed first so they keep the best spot.
        foreach (int i in Enumerable.Range(0, points.Count).OrderBy(i => points[i].Highlight))
        {
            bool h = points[i].Highlight;
            plot.Add.Marker(xs[i], ys[i], MarkerShape.FilledCircle, h ? 14 : 9, h ? accent : plain);
        }
        foreach (int i in Enumerable.Range(0, points.Count).OrderByDescending(i => points[i].Highlight))
        {
            bool h = points[i].Highlight;
            var text = plot.Add.Text(points[i].Label, xs[i], ys[i]);
            // Approximate pixel position inside the data area (about 800x480 of the 900x600 image).
            double px = (xs[i] - xLow) / (xHigh - xLow) * 800, py = (yHigh - ys[i]) / (yHigh - yLow) * 480;
            var (alignment, dx, dy, rect) = PlaceLabel(px, py, points[i].Label.Length * (h ? 8.0 : 7.0), h ? 10 : 7, placed);
            placed.Add(rect);
            text.Alignment = alignment;
            text.OffsetX = (float)dx;
            text.OffsetY = (float)dy;
            text.LabelFontSize = 12;
            text.LabelBold = h;
            text.LabelFontColor = h ? accent : Colors.Black;
        }

        plot.Axes.SetLimits(xLow, xHigh, yLow, yHigh);
        if (logX) SetLogTicks(plot.Axes.Bottom, xLow, xHigh);
        if (logY) SetLogTicks(plot.Axes.Left, yLow, yHigh);

        plot.Title(title);
        plot.XLabel(logX ? $"{xLabel} (log scale)" : xLabel);
        plot.YLabel(logY ? $"{yLabel} (log scale)" : yLabel);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(Width, Height, ImageFormat.Png));
    }

    /// <summary>
    /// Picks the first of right, left, above and below the point where the label's box (in approximate pixels)
    /// overlaps no label placed before; right when all overlap.
    /// </summary>
    private static (Alignment Alignment, double Dx, double Dy, (double, double, double, double) Rect) PlaceLabel(
        double px, double py, double width, double gap, List<(double X0, double Y0, double X1, double Y1)> placed)
    {
        const double height = 14;
        (Alignment, double, double, (double, double, double, double))[] candidates =
        [
            (Alignment.MiddleLeft, gap, 0, (px + gap, py - height / 2, px + gap + width, py + height / 2)),
            (Alignment.MiddleRight, -gap, 0, (px - gap - width, py - height / 2, px - gap, py + height / 2)),
            (Alignment.LowerCenter, 0, -gap, (px - width / 2, py - gap - height, px + width / 2, py - gap)),
            (Alignment.UpperCenter, 0, gap, (px - width / 2, py + gap, px + width / 2, py + gap + height)),
        ];
        foreach (var c in candidates)
        {
            var (x0, y0, x1, y1) = c.Item4;
            if (!placed.Any(r => x0 < r.X1 && r.X0 < x1 && y0 < r.Y1 && r.Y0 < y1)) return c;
        }
        return candidates[0];
    }

    private static void Check(StudyPoint p, string axis, double value, bool log)
    {
        if (!double.IsFinite(value))
            throw new MobileOneException($"point '{p.Label}' has {axis} = {Format(value)}; values must be finite numbers");
        if (log && value <= 0)
            throw new MobileOneException($"point '{p.Label}' has {axis} = {Format(value)}, but a log {axis} axis needs positive values");
    }

    private static (double Low, double High) Limits(double[] values, double rightPad)
    {
        double low = values.Min(), high = values.Max();
        double span = high - low;
        if (span == 0) span = Math.Max(Math.Abs(high), 1);  // a single value still gets a visible window
        return (low - 0.1 * span, high + rightPad * span);
    }

    /// <summary>
    /// Ticks at round real values between log10 limits: decades, else 1-2-5 per decade, else (a range under about half a
    /// decade) evenly spaced round values, so a narrow range still gets several labels.
    /// </summary>
    private static void SetLogTicks(IAxis axis, double low, double high)
    {
        var ticks = new List<double>();
        double[][] mantissaSets = [[1], [1, 2, 5]];
        foreach (var mantissas in mantissaSets)
        {
            ticks.Clear();
            for (int e = (int)Math.Floor(low); e <= (int)Math.Ceiling(high); e++)
                foreach (double m in mantissas)
                {
                    double position = e + Math.Log10(m);
                    if (position >= low && position <= high) ticks.Add(m * Math.Pow(10, e));
                }
            if (ticks.Count >= 3) break;
        }
        if (ticks.Count < 3)
        {
            double a = Math.Pow(10, low), b = Math.Pow(10, high);
            double raw = (b - a) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw))), f = raw / magnitude;
            double step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * magnitude;
            ticks.Clear();
            for (long k = (long)Math.Ceiling(a / step); k * step <= b; k++) ticks.Add(k * step);
        }
        axis.SetTicks(ticks.Select(Math.Log10).ToArray(), ticks.Select(Format).ToArray());
    }

    private static string Format(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}

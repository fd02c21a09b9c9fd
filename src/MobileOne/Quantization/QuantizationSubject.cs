using MobileOne.Data;
using MobileOne.Detection;
using MobileOne.Inference;
using static System.Numerics.Tensors.TensorPrimitives;

namespace MobileOne.Quantization;

/// <summary>
/// The float model quantisation works on, as what its graph says it is: an image classifier, a segmenter (logits
/// [N, K, H, W]) or a detector (as <see cref="Export.DetectorExporter"/> writes it). It gives the inputs calibration feeds
/// it, and says how far its int8 form agrees with it: on the top-1 class, on the class of each pixel, or on the detections.
/// </summary>
internal abstract class QuantizationSubject : IDisposable
{
    /// <summary>A detection the int8 model must find, when the float model scores it at least this.</summary>
    public const float ConfidentScore = 0.3f;

    /// <summary>The overlap at which an int8 detection of the same label finds a float one.</summary>
    public const double MatchIoU = 0.5;

    /// <summary>Opens the float model <paramref name="model"/> as what it is; a graph that is none of the three is refused as a classifier would refuse it.</summary>
    public static QuantizationSubject Open(byte[] model, string source)
    {
        var session = OnnxEngine.OpenSession(() => model, source, threads: 1);
        if (OnnxDetector.IsDetector(session)) return new Detector(new OnnxDetector(session, source));
        if (OnnxSegmenter.IsSegmenter(session)) return new Segmenter(new OnnxSegmenter(session, source));
        return new Classifier(new OnnxEngine(session, source));
    }

    /// <summary>Channels of the input.</summary>
    public abstract int Channels { get; }

    /// <summary>The input's height and width as the graph fixes them; 0 for a side it leaves free.</summary>
    public abstract (int Height, int Width) InputSize { get; }

    /// <summary>How an image becomes an input (its size is the graph's, or free when the graph takes any).</summary>
    public abstract ImagePreprocessor Preprocessing { get; }

    /// <summary>Opens the calibration samples <paramref name="spec"/> names (see <see cref="CalibrationSet.Open"/>) for this model's input.</summary>
    public CalibrationSet OpenCalibration(string spec, int samples) =>
        CalibrationSet.Open(spec, Preprocessing, Channels, InputSize.Height, InputSize.Width, samples);

    /// <summary>
    /// Runs <paramref name="int8"/> beside this model on the first <paramref name="samples"/> of <paramref name="set"/>; a
    /// non-finite output is an error naming <paramref name="source"/>.
    /// </summary>
    public QuantizationCheck Check(byte[] int8, CalibrationSet set, int samples, string source)
    {
        using var quantized = Open(int8, source);
        if (quantized.GetType() != GetType()) throw new MobileOneException($"{source}: the int8 graph is not the same kind of model as the float one");
        // Calibration's batches, so that a segmenter's full-size logits are held a few images at a time.
        int n = Math.Min(samples, set.Count), seen = 0;
        var total = new Comparison(0, 0, 0, 0);
        foreach (var (data, count) in set.Batches(Calibrator.BatchSize))
        {
            int take = Math.Min(count, n - seen);
            var c = Compare(quantized, data.AsSpan(0, take * set.SampleLength).ToArray(), take, set.Height, set.Width, source);
            total = new Comparison(total.Agreeing + c.Agreeing, total.Compared + c.Compared, Math.Max(total.MaxDifference, c.MaxDifference), Math.Max(total.MaxValue, c.MaxValue));
            if ((seen += take) == n) break;
        }
        return new QuantizationCheck(n, Measure, total.Compared, total.Compared == 0 ? double.NaN : (double)total.Agreeing / total.Compared, total.MaxDifference, total.MaxValue);
    }

    /// <summary>What the check counts, as a plural noun, e.g. "images (top-1 class)".</summary>
    protected abstract string Measure { get; }

    /// <summary>The two models on <paramref name="n"/> samples: what agrees, out of how many, and the largest output difference.</summary>
    protected abstract Comparison Compare(QuantizationSubject int8, float[] data, int n, int h, int w, string source);

    /// <inheritdoc/>
    public abstract void Dispose();

    /// <summary>Agreement counts and the largest difference of outputs, against the largest float output.</summary>
    protected sealed record Comparison(long Agreeing, long Compared, double MaxDifference, double MaxValue);

    /// <summary>Where two sets of scores (one row of <paramref name="k"/> per position, or planes of <paramref name="plane"/> per class) pick the same class.</summary>
    protected static Comparison CompareScores(float[] reference, float[] quantized, int n, int k, int plane, string source)
    {
        if (quantized.Any(v => !float.IsFinite(v))) throw new MobileOneException($"{source}: the int8 model produced a non-finite output; it was not written");
        long agree = 0;
        var a = new float[k];
        var b = new float[k];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < plane; p++)
            {
                for (int j = 0; j < k; j++)
                {
                    long at = ((long)i * k + j) * plane + p;
                    a[j] = reference[at];
                    b[j] = quantized[at];
                }
                if (IndexOfMax(a) == IndexOfMax(b)) agree++;
            }
        double maxDiff = 0, maxValue = 0;
        for (long i = 0; i < reference.LongLength; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(reference[i] - quantized[i]));
            maxValue = Math.Max(maxValue, Math.Abs(reference[i]));
        }
        return new Comparison(agree, (long)n * plane, maxDiff, maxValue);
    }

    private sealed class Classifier(OnnxEngine model) : QuantizationSubject
    {
        private readonly OnnxEngine engine = model;

        public override int Channels => engine.InputChannels;
        public override (int Height, int Width) InputSize => (engine.FixedHeight ?? Preprocessing.Size, engine.FixedWidth ?? Preprocessing.Size);
        public override ImagePreprocessor Preprocessing => engine.Preprocessing();
        protected override string Measure => "images (top-1 class)";

        protected override Comparison Compare(QuantizationSubject int8, float[] data, int n, int h, int w, string source) =>
            CompareScores(engine.Run(data, n, h, w), ((Classifier)int8).engine.Run(data, n, h, w), n, engine.NumClasses, 1, source);

        public override void Dispose() => engine.Dispose();
    }

    private sealed class Segmenter(OnnxSegmenter model) : QuantizationSubject
    {
        private readonly OnnxSegmenter engine = model;

        public override int Channels => engine.InputChannels;
        public override (int Height, int Width) InputSize => (0, 0);
        public override ImagePreprocessor Preprocessing => engine.Normalization with { CropPct = 1 };
        protected override string Measure => "pixels (class)";

        protected override Comparison Compare(QuantizationSubject int8, float[] data, int n, int h, int w, string source) =>
            CompareScores(engine.Run(data, n, h, w), ((Segmenter)int8).engine.Run(data, n, h, w), n, engine.NumClasses, h * w, source);

        public override void Dispose() => engine.Dispose();
    }

    // A float detection scoring at least ConfidentScore is found when an int8 detection of its label scoring at least half that overlaps it by MatchIoU, each used once.
    private sealed class Detector(OnnxDetector model) : QuantizationSubject
    {
        private readonly OnnxDetector engine = model;

        public override int Channels => engine.InputChannels;
        public override (int Height, int Width) InputSize => (engine.ImageSize, engine.ImageSize);
        public override ImagePreprocessor Preprocessing => engine.Normalization;
        protected override string Measure => $"detections scoring {ConfidentScore} or more (found: same label, score {ConfidentScore / 2} or more, IoU {MatchIoU} or more)";

        protected override Comparison Compare(QuantizationSubject int8, float[] data, int n, int h, int w, string source)
        {
            var other = ((Detector)int8).engine;
            int length = Channels * h * w;
            long found = 0, confident = 0;
            double maxDiff = 0;
            for (int i = 0; i < n; i++)
            {
                var image = data.AsSpan(i * length, length).ToArray();
                var reference = engine.DetectImage(image).Where(d => d.Score >= ConfidentScore).ToList();
                var quantized = other.DetectImage(image).ToList();
                if (quantized.Any(d => !float.IsFinite(d.Score) || !float.IsFinite(d.X1) || !float.IsFinite(d.Y1) || !float.IsFinite(d.X2) || !float.IsFinite(d.Y2)))
                    throw new MobileOneException($"{source}: the int8 model produced a non-finite detection; it was not written");
                confident += reference.Count;
                foreach (var d in reference)
                {
                    // A match must be a detection in its own right, not a near-zero score that NMS happened to keep.
                    var match = quantized.Where(q => q.Label == d.Label && q.Score >= ConfidentScore / 2).MaxBy(d.IoU);
                    if (match is null || d.IoU(match) < MatchIoU) continue;
                    found++;
                    maxDiff = Math.Max(maxDiff, Math.Abs(d.Score - match.Score));
                    quantized.Remove(match);
                }
            }
            return new Comparison(found, confident, maxDiff, 1);
        }

        public override void Dispose() => engine.Dispose();
    }
}

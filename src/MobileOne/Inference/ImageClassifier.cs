using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Models;
using MobileOne.Reparameterization;

namespace MobileOne.Inference;

/// <summary>
/// Classifies images with a MobileOne (or any ONNX image classifier): decode, evaluation
/// preprocessing, one batched forward pass, softmax, top-k. Load once, classify many times.
/// </summary>
public sealed class ImageClassifier : IDisposable
{
    private ImageClassifier(IInferenceEngine engine, ImagePreprocessor preprocessing, IReadOnlyList<string> labels)
    {
        if (engine.InputChannels != 3)
            throw new MobileOneException($"the model takes {engine.InputChannels}-channel input; image classification needs an RGB (3-channel) model");
        if (labels.Count != engine.NumClasses)
            throw new MobileOneException($"{labels.Count} class labels given for a classifier with {engine.NumClasses} classes");
        Engine = engine;
        Preprocessing = preprocessing.Validated();
        Labels = labels;
    }

    /// <summary>The runtime executing the model.</summary>
    public IInferenceEngine Engine { get; }

    /// <summary>How images are turned into network inputs.</summary>
    public ImagePreprocessor Preprocessing { get; }

    /// <summary>Class names, by output index.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>
    /// Loads an ONNX classifier. Preprocessing comes from the model's metadata (as the exporter records it)
    /// unless given; labels are ImageNet's for 1000 classes unless given.
    /// </summary>
    public static ImageClassifier FromOnnx(string path, int threads = 1, ImagePreprocessor? preprocessing = null, IReadOnlyList<string>? labels = null)
    {
        var engine = new OnnxEngine(path, threads);
        try
        {
            return new ImageClassifier(engine, preprocessing ?? engine.Preprocessing(), labels ?? ClassLabels.Default(engine.NumClasses));
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a MobileOne checkpoint (any layout, fused or not), folds it, and runs it with ONNX Runtime
    /// (exported in memory) or TorchSharp.
    /// </summary>
    public static ImageClassifier FromCheckpoint(string path, MobileOneConfig? config = null, InferenceBackend backend = InferenceBackend.Onnx,
        int threads = 1, ImagePreprocessor? preprocessing = null, IReadOnlyList<string>? labels = null, Action<string>? warn = null)
    {
        var pre = (preprocessing ?? new ImagePreprocessor()).Validated();
        var loaded = MobileOneCheckpoint.Load(path, config);
        var model = loaded.Fused ? loaded.Model : Reparameterizer.Fuse(loaded.Model, warn);
        if (!ReferenceEquals(model, loaded.Model)) loaded.Model.Dispose();
        IInferenceEngine engine;
        if (backend == InferenceBackend.Onnx)
        {
            var onnx = OnnxExporter.ToBytes(model, new OnnxExportOptions { InputHeight = pre.Size, InputWidth = pre.Size, Mean = pre.Mean, Std = pre.Std, CropPct = pre.CropPct });
            model.Dispose();
            engine = new OnnxEngine(onnx, threads, path);
        }
        else
        {
            engine = new TorchEngine(model, threads);
        }
        try
        {
            return new ImageClassifier(engine, pre, labels ?? ClassLabels.Default(engine.NumClasses));
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>The top-k classes of one image file.</summary>
    public IReadOnlyList<Prediction> Classify(string imagePath, int topK = 5) => Classify([ImageDecoder.Decode(imagePath)], topK)[0];

    /// <summary>The top-k classes of each image, computed in one batch.</summary>
    public IReadOnlyList<IReadOnlyList<Prediction>> Classify(IReadOnlyList<RgbImage> images, int topK = 5)
    {
        if (images.Count == 0) return [];
        int size = Preprocessing.Size, plane = 3 * size * size;
        var batch = new float[images.Count * plane];
        for (int i = 0; i < images.Count; i++) Preprocessing.ProcessInto(images[i], batch.AsSpan(i * plane, plane));
        return TopK(Engine.Run(batch, images.Count, size, size), images.Count, topK);
    }

    /// <summary>Top-k of already preprocessed inputs [n, 3, size, size] (for callers with their own pipeline).</summary>
    public IReadOnlyList<IReadOnlyList<Prediction>> Classify(float[] batch, int n, int topK = 5) =>
        TopK(Engine.Run(batch, n, Preprocessing.Size, Preprocessing.Size), n, topK);

    private IReadOnlyList<IReadOnlyList<Prediction>> TopK(float[] logits, int n, int topK)
    {
        if (topK < 1) throw new MobileOneException($"topk must be at least 1, found {topK}");
        int c = Engine.NumClasses;
        var result = new List<IReadOnlyList<Prediction>>(n);
        for (int i = 0; i < n; i++)
        {
            var row = logits.AsSpan(i * c, c);
            float max = float.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            double sum = 0;
            foreach (var v in row) sum += Math.Exp(v - max);
            var probs = new float[c];
            for (int j = 0; j < c; j++) probs[j] = (float)(Math.Exp(row[j] - max) / sum);
            result.Add(Enumerable.Range(0, c).OrderByDescending(j => probs[j]).Take(Math.Min(topK, c))
                .Select(j => new Prediction(j, Labels[j], probs[j])).ToArray());
        }
        return result;
    }

    /// <inheritdoc/>
    public void Dispose() => Engine.Dispose();
}

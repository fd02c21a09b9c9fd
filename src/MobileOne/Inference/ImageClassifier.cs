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
        if (engine.InputChannels is not (1 or 3))
            throw new MobileOneException($"the model takes {engine.InputChannels}-channel input; images give 3 channels (RGB) or 1 (grey)");
        if (labels.Count != engine.NumClasses)
            throw new MobileOneException($"{labels.Count} class labels given for a classifier with {engine.NumClasses} classes");
        Engine = engine;
        // The model decides: a grey model gets each image's luma, whatever the preprocessing was given.
        Preprocessing = (preprocessing with { Channels = engine.InputChannels }).Validated();
        Labels = labels;
    }

    /// <summary>The runtime executing the model.</summary>
    public IInferenceEngine Engine { get; }

    /// <summary>How images are turned into network inputs.</summary>
    public ImagePreprocessor Preprocessing { get; }

    /// <summary>Class names, by output index.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>
    /// Loads an ONNX classifier. Preprocessing and class names come from the model's metadata (as the exporter
    /// records them) unless given; without names there, labels are ImageNet's for 1000 classes, else numbered.
    /// </summary>
    public static ImageClassifier FromOnnx(string path, int threads = 1, ImagePreprocessor? preprocessing = null, IReadOnlyList<string>? labels = null)
    {
        var engine = new OnnxEngine(path, threads);
        try
        {
            return new ImageClassifier(engine, preprocessing ?? engine.Preprocessing(), labels ?? engine.ClassNames() ?? ClassLabels.Default(engine.NumClasses));
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a MobileOne checkpoint (any layout, fused or not), folds it, and runs it with ONNX Runtime
    /// (exported in memory) or TorchSharp. Preprocessing and class names come from the checkpoint's training
    /// run (<see cref="DeploySettings.ForCheckpoint"/>) unless given.
    /// </summary>
    public static ImageClassifier FromCheckpoint(string path, MobileOneConfig? config = null, InferenceBackend backend = InferenceBackend.Onnx,
        int threads = 1, ImagePreprocessor? preprocessing = null, IReadOnlyList<string>? labels = null, Action<string>? warn = null)
    {
        var loaded = MobileOneCheckpoint.Load(path, config);
        var run = DeploySettings.ForCheckpoint(path, loaded.Model.Config.InChannels);
        var pre = (preprocessing ?? run.Preprocessing).Validated();
        labels ??= run.ClassNames;
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
        int size = Preprocessing.Size, plane = PlaneLength;
        var batch = new float[images.Count * plane];
        for (int i = 0; i < images.Count; i++) Preprocessing.ProcessInto(images[i], batch.AsSpan(i * plane, plane));
        return TopK(Engine.Run(batch, images.Count, size, size), images.Count, topK);
    }

    /// <summary>
    /// Classifies image files in batches of <paramref name="batchSize"/>, in the order given. A file that
    /// cannot be read, decoded or preprocessed fails alone: its result carries the reason and the other
    /// files of its batch are classified all the same.
    /// </summary>
    public IReadOnlyList<FileClassification> ClassifyFiles(IReadOnlyList<string> paths, int topK = 5, int batchSize = 8)
    {
        if (topK < 1) throw new MobileOneException($"topk must be at least 1, found {topK}");
        if (batchSize < 1) throw new MobileOneException($"batch size must be at least 1, found {batchSize}");
        var results = new FileClassification[paths.Count];
        for (int start = 0; start < paths.Count; start += batchSize)
            ClassifyBatch(paths, start, Math.Min(batchSize, paths.Count - start), topK, results);
        return results;
    }

    private void ClassifyBatch(IReadOnlyList<string> paths, int start, int count, int topK, FileClassification[] results)
    {
        int plane = PlaneLength;
        var batch = new float[count * plane];
        var ready = new List<int>(count);
        for (int i = start; i < start + count; i++)
        {
            var error = Prepare(paths[i], batch.AsSpan(ready.Count * plane, plane));
            if (error is null) ready.Add(i);
            else results[i] = new FileClassification(paths[i], null, error);
        }
        if (ready.Count == 0) return;
        var tops = Classify(ready.Count == count ? batch : batch[..(ready.Count * plane)], ready.Count, topK);
        for (int j = 0; j < ready.Count; j++) results[ready[j]] = new FileClassification(paths[ready[j]], tops[j], null);
    }

    /// <summary>Decodes and preprocesses one file into its batch slot; returns why it failed, or null.</summary>
    private string? Prepare(string path, Span<float> destination)
    {
        try
        {
            Preprocessing.ProcessInto(ImageDecoder.Decode(path), destination);
            return null;
        }
        // What one image's own bytes can cause: a refusal (sizes are checked against the limits before
        // anything is allocated) or an unreadable file. Neither says anything about the next file.
        catch (Exception e) when (e is MobileOneException or IOException or UnauthorizedAccessException)
        {
            return e.Message.Contains(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}";
        }
    }

    /// <summary>Floats of one preprocessed image.</summary>
    private int PlaneLength => Preprocessing.Channels * Preprocessing.Size * Preprocessing.Size;

    /// <summary>Top-k of already preprocessed inputs [n, channels, size, size] (for callers with their own pipeline).</summary>
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

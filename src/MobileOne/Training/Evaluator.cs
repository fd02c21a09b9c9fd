using MobileOne.Data;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>Runs a model over a loader in eval mode: loss, top-1, top-5, confusion matrix, predictions.</summary>
public static class Evaluator
{
    /// <summary>
    /// Evaluates an ONNX classifier on <paramref name="val"/> with the preprocessing its metadata records, <paramref name="batchSize"/>
    /// images per run; the loss is plain cross-entropy.
    /// </summary>
    public static EvaluationResult Evaluate(Inference.OnnxEngine engine, IImageDataset val, int batchSize, int workers = 1)
    {
        if (val.ClassNames.Count != engine.NumClasses)
            throw new MobileOneException($"{val.Description} has {val.ClassNames.Count} classes; {engine.Source} has {engine.NumClasses} outputs");
        var pre = engine.Preprocessing();
        var loader = new DataLoader(val, (img, _, _, _, dst) => pre.ProcessInto(img, dst), batchSize, pre.Channels, shuffle: false, dropLast: false, seed: 0, workers);
        var tally = new EvaluationTally(val.ClassNames);
        foreach (var batch in loader.Epoch(0, 0, _ => (pre.Size, 1.0)))
            tally.AddLogits(engine.Run(batch.Images, batch.Count, batch.Size, batch.Size), batch.Labels);
        return tally.Result();
    }

    /// <summary>Evaluates <paramref name="model"/> (put in eval mode; its mode is restored afterwards).</summary>
    public static EvaluationResult Evaluate(MobileOneModel model, DataLoader loader, int size, IReadOnlyList<string> classNames, double labelSmoothing = 0)
    {
        using var evalMode = new EvalMode(model);
        var dtype = model.Stem.parameters().First().dtype;
        int k = model.Config.NumClasses;
        var tally = new EvaluationTally(classNames);
        using var noGrad = no_grad();
        foreach (var batch in loader.Epoch(0, 0, _ => (size, 1.0)))
        {
            using var scope = NewDisposeScope();
            var x = tensor(batch.Images, [batch.Count, batch.Channels, batch.Size, batch.Size]).to(dtype);
            var y = tensor(batch.Labels);
            var logits = model.forward(x).to(float32);
            double loss = LabelSmoothing.CrossEntropy(logits, y, labelSmoothing).item<float>() * batch.Count;
            tally.Add(logits.topk(Math.Min(5, k), 1).indexes.data<long>().ToArray(), Math.Min(5, k), batch.Labels, loss);
        }
        return tally.Result();
    }
}

using MobileOne.Data;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>Runs a model over a loader in eval mode: loss, top-1, top-5, confusion matrix, predictions.</summary>
public static class Evaluator
{
    /// <summary>Evaluates <paramref name="model"/> (put in eval mode; its mode is restored afterwards).</summary>
    public static EvaluationResult Evaluate(MobileOneModel model, DataLoader loader, int size, IReadOnlyList<string> classNames, double labelSmoothing = 0)
    {
        bool wasTraining = model.training;
        model.eval();
        var dtype = model.Stem.parameters().First().dtype;
        int k = model.Config.NumClasses;
        var confusion = new long[k, k];
        var predictions = new List<int>();
        double lossSum = 0;
        long top5 = 0;
        try
        {
            using var noGrad = no_grad();
            foreach (var batch in loader.Epoch(0, 0, _ => (size, 1.0)))
            {
                using var scope = NewDisposeScope();
                var x = tensor(batch.Images, [batch.Count, batch.Channels, batch.Size, batch.Size]).to(dtype);
                var y = tensor(batch.Labels);
                var logits = model.forward(x).to(float32);
                lossSum += LabelSmoothing.CrossEntropy(logits, y, labelSmoothing).item<float>() * batch.Count;
                var top = logits.topk(Math.Min(5, k), 1).indexes.data<long>().ToArray();
                int width = Math.Min(5, k);
                for (int i = 0; i < batch.Count; i++)
                {
                    int predicted = (int)top[i * width];
                    predictions.Add(predicted);
                    confusion[batch.Labels[i], predicted]++;
                    for (int j = 0; j < width; j++)
                        if (top[i * width + j] == batch.Labels[i]) { top5++; break; }
                }
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        int n = predictions.Count;
        long correct = 0;
        for (int c = 0; c < k; c++) correct += confusion[c, c];
        return new EvaluationResult(lossSum / n, (double)correct / n, (double)top5 / n, confusion, predictions.ToArray(), classNames);
    }
}

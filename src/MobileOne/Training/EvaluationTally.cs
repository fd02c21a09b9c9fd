namespace MobileOne.Training;

/// <summary>Accumulates a classifier's predictions over a labelled set, batch by batch, into an <see cref="EvaluationResult"/>.</summary>
public sealed class EvaluationTally(IReadOnlyList<string> classNames)
{
    private readonly long[,] confusion = new long[classNames.Count, classNames.Count];
    private readonly List<int> predictions = [];
    private double lossSum;
    private long top5;

    /// <summary>
    /// Adds a batch: <paramref name="top"/> holds each sample's best classes, best first, <paramref name="width"/> per sample;
    /// <paramref name="loss"/> is the batch's summed loss.
    /// </summary>
    public void Add(ReadOnlySpan<long> top, int width, ReadOnlySpan<long> labels, double loss)
    {
        lossSum += loss;
        for (int i = 0; i < labels.Length; i++)
        {
            int predicted = (int)top[i * width];
            predictions.Add(predicted);
            confusion[labels[i], predicted]++;
            for (int j = 0; j < width; j++)
                if (top[i * width + j] == labels[i]) { top5++; break; }
        }
    }

    /// <summary>
    /// Adds a batch of logits [n, classes] (row-major): top-5 and the cross-entropy computed here, in double precision.
    /// </summary>
    public void AddLogits(ReadOnlySpan<float> logits, ReadOnlySpan<long> labels)
    {
        int k = confusion.GetLength(0), width = Math.Min(5, k);
        var top = new long[labels.Length * width];
        double loss = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = logits.Slice(i * k, k).ToArray();
            var order = Enumerable.Range(0, k).OrderByDescending(c => row[c]).ThenBy(c => c).Take(width).ToArray();
            for (int j = 0; j < width; j++) top[i * width + j] = order[j];
            double max = row[order[0]], sum = 0;
            foreach (var v in row) sum += Math.Exp(v - max);
            loss += max + Math.Log(sum) - row[(int)labels[i]];
        }
        Add(top, width, labels, loss);
    }

    /// <summary>The result so far.</summary>
    public EvaluationResult Result()
    {
        int n = predictions.Count, k = confusion.GetLength(0);
        long correct = 0;
        for (int c = 0; c < k; c++) correct += confusion[c, c];
        return new EvaluationResult(lossSum / n, (double)correct / n, (double)top5 / n, confusion, predictions.ToArray(), classNames);
    }
}

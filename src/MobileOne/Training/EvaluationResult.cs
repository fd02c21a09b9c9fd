namespace MobileOne.Training;

/// <summary>Accuracy of a model on a labelled set.</summary>
public sealed record EvaluationResult(double Loss, double Top1, double Top5, long[,] Confusion, int[] Predictions, IReadOnlyList<string> ClassNames)
{
    /// <summary>Number of samples.</summary>
    public int Count => Predictions.Length;

    /// <summary>Accuracy of each class (recall): correct / samples of that class.</summary>
    public double[] PerClassAccuracy()
    {
        int k = Confusion.GetLength(0);
        var acc = new double[k];
        for (int c = 0; c < k; c++)
        {
            long total = 0;
            for (int j = 0; j < k; j++) total += Confusion[c, j];
            acc[c] = total == 0 ? double.NaN : (double)Confusion[c, c] / total;
        }
        return acc;
    }

    /// <summary>Fraction of samples on which two evaluations predict the same class.</summary>
    public double Agreement(EvaluationResult other)
    {
        if (other.Count != Count) throw new ArgumentException("evaluations of different sets");
        return Count == 0 ? 1 : Predictions.Zip(other.Predictions).Count(p => p.First == p.Second) / (double)Count;
    }
}

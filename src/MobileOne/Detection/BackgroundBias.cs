using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// Makes a detector's background lead by a set margin: the bias of the background's column in every class
/// prediction layer raised until only about a chosen number of (box, class) pairs reach non-maximum suppression.
/// A random-weight detector scores every class above SSD's threshold of 0.001 almost everywhere, which no trained
/// one does; this gives it a trained detector's load on the post-processing, for benchmarks and tests.
/// </summary>
public static class BackgroundBias
{
    /// <summary>
    /// Raises the background's bias so that at most about <paramref name="candidates"/> (box, class) pairs of
    /// <paramref name="image"/> ([1, C, S, S], normalised) reach suppression (<see cref="SsdPostprocessor.NmsInputs"/>).
    /// Returns the amount added and the pairs left.
    /// </summary>
    public static (double Shift, long Candidates) Calibrate(SsdLite model, Tensor image, long candidates)
    {
        if (candidates < 0) throw new MobileOneException($"the number of boxes reaching suppression must be 0 or more, found {candidates}");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.ForwardHeads(image).Logits[0].to(float64);
        var background = zeros_like(logits);
        background[.., 0] = 1;
        long Count(double shift) => model.Postprocessor.NmsInputs((logits + background * shift).softmax(-1));
        // The count falls as the background rises: bisect on the shift.
        double low = 0, high = 64;
        if (Count(low) > candidates)
            for (int i = 0; i < 50; i++)
            {
                double mid = (low + high) / 2;
                if (Count(mid) > candidates) low = mid; else high = mid;
            }
        else high = 0;
        Shift(model, high);
        return (high, Count(high));
    }

    /// <summary>Adds <paramref name="amount"/> to the background's logit of every box (the class prediction layers' biases).</summary>
    public static void Shift(SsdLite model, double amount)
    {
        using var noGrad = no_grad();
        foreach (var layer in model.Head.Classification.Layers)
        {
            var conv = (Conv2d)layer.children().Last();
            // Channel a x K + k is box a's class k: the background's are every K-th from 0.
            conv.bias![TensorIndex.Slice(0, null, model.NumClasses)].add_(amount);
        }
    }
}

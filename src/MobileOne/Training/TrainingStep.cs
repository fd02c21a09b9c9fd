using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>One optimisation step, shared by training runs and the training benchmark.</summary>
public static class TrainingStep
{
    /// <summary>
    /// Computes <paramref name="loss"/>, back-propagates it, updates with <paramref name="sgd"/> and clears the
    /// gradients; returns the loss. Every tensor made on the way is freed before returning.
    /// </summary>
    public static double Take(Sgd sgd, Func<Tensor> loss)
    {
        using var scope = NewDisposeScope();
        var l = loss();
        l.backward();
        sgd.Step();
        sgd.ZeroGrad();
        return l.item<float>();
    }
}

using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Inference;

/// <summary>TorchSharp eager execution of a classifier (eval mode, no autograd): a MobileOne or any zoo network.</summary>
public sealed class TorchEngine : IInferenceEngine
{
    private readonly nn.Module<Tensor, Tensor> model;

    /// <summary>Wraps a MobileOne; <paramref name="threads"/> &gt; 0 sets LibTorch's intra-op thread count (process-wide).</summary>
    public TorchEngine(MobileOneModel model, int threads = 0) : this(model, model.Config.InChannels, model.Config.NumClasses, threads) { }

    /// <summary>Wraps any classifier taking <paramref name="inChannels"/> channels and returning <paramref name="numClasses"/> logits.</summary>
    public TorchEngine(nn.Module<Tensor, Tensor> model, int inChannels, int numClasses, int threads = 0)
    {
        if (threads < 0) throw new MobileOneException($"threads must be 0 (automatic) or positive, found {threads}");
        if (threads > 0) torch.set_num_threads(threads);
        this.model = model;
        InputChannels = inChannels;
        NumClasses = numClasses;
        model.eval();
    }

    /// <summary>The model run.</summary>
    public nn.Module<Tensor, Tensor> Model => model;

    /// <inheritdoc/>
    public string Name => "torch";

    /// <inheritdoc/>
    public int NumClasses { get; }

    /// <inheritdoc/>
    public int InputChannels { get; }

    /// <inheritdoc/>
    public Func<float[]> Prepare(float[] input, int n, int h, int w)
    {
        int c = InputChannels;
        if (input.Length != (long)n * c * h * w)
            throw new ArgumentException($"input holds {input.Length} floats, not {n}x{c}x{h}x{w}");
        return () =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            // from_array shares the managed buffer: the run sees the input as it is now.
            var x = torch.from_array(input).view(n, c, h, w);
            return Models.TorchErrors.Run(() => model.forward(x).data<float>().ToArray(), $"running the model on a {n}x{c}x{h}x{w} input");
        };
    }

    /// <inheritdoc/>
    public float[] Run(float[] input, int n, int h, int w) => Prepare(input, n, h, w)();

    /// <inheritdoc/>
    public void Dispose() => model.Dispose();
}

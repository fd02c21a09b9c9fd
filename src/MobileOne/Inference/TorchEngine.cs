using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Inference;

/// <summary>TorchSharp eager execution of a <see cref="MobileOneModel"/> (eval mode, no autograd).</summary>
public sealed class TorchEngine : IInferenceEngine
{
    private readonly MobileOneModel model;

    /// <summary>Wraps a model; <paramref name="threads"/> &gt; 0 sets LibTorch's intra-op thread count (process-wide).</summary>
    public TorchEngine(MobileOneModel model, int threads = 0)
    {
        if (threads < 0) throw new MobileOneException($"threads must be 0 (automatic) or positive, found {threads}");
        if (threads > 0) torch.set_num_threads(threads);
        this.model = model;
        model.eval();
    }

    /// <summary>The model run.</summary>
    public MobileOneModel Model => model;

    /// <inheritdoc/>
    public string Name => "torch";

    /// <inheritdoc/>
    public int NumClasses => model.Config.NumClasses;

    /// <inheritdoc/>
    public int InputChannels => model.Config.InChannels;

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
            return model.forward(x).data<float>().ToArray();
        };
    }

    /// <inheritdoc/>
    public float[] Run(float[] input, int n, int h, int w) => Prepare(input, n, h, w)();

    /// <inheritdoc/>
    public void Dispose() => model.Dispose();
}

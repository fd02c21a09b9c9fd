using MobileOne.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>
/// SGD with momentum (PyTorch's update: buf = m buf + g, step along buf, or g + m buf with Nesterov),
/// coupled weight decay per parameter group, float32 master weights for models kept in bfloat16, and
/// a state (momentum buffers) that checkpoints can save and restore exactly.
/// </summary>
public sealed class Sgd : IDisposable
{
    private readonly List<(string Name, Parameter Param, bool Decay, double LrScale)> parameters;
    private readonly Dictionary<string, Tensor> momentum = [];
    private readonly Dictionary<string, Tensor> master = [];

    /// <summary>
    /// Creates the optimiser over named parameters; when <paramref name="decayNormAndBias"/> is false,
    /// BatchNorm weights and every bias (1-D tensors) are left out of weight decay. Parameters that take no
    /// gradient (frozen) are left out; <paramref name="lrScale"/> gives a factor on the learning rate by name.
    /// </summary>
    public Sgd(IEnumerable<(string Name, Parameter Param)> named, double momentum = 0.9, bool nesterov = false, bool decayNormAndBias = false,
        Func<string, double>? lrScale = null)
    {
        parameters = named.Where(p => p.Param.requires_grad)
            .Select(p => (p.Name, p.Param, decayNormAndBias || p.Param.dim() > 1, lrScale?.Invoke(p.Name) ?? 1.0)).ToList();
        Momentum = momentum;
        Nesterov = nesterov;
        foreach (var (name, p, _, _) in parameters)
            if (p.dtype != ScalarType.Float32) master[name] = p.detach().to(float32).clone();
    }

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>Learning rate of the next step.</summary>
    public double LearningRate { get; set; }

    /// <summary>Weight decay of the next step (applied to the decayed group).</summary>
    public double WeightDecay { get; set; }

    /// <summary>
    /// When positive, the largest L2 norm of all gradients together: a larger one is scaled down to it before the
    /// update (PyTorch's <c>clip_grad_norm_</c>). 0: no clipping.
    /// </summary>
    public double MaxGradNorm { get; set; }

    /// <summary>Number of parameters with and without weight decay.</summary>
    public (int Decayed, int NotDecayed) GroupSizes => (parameters.Count(p => p.Decay), parameters.Count(p => !p.Decay));

    /// <summary>One update from the current gradients.</summary>
    public void Step()
    {
        using var noGrad = no_grad();
        // Explicit scalars, not one implicit scalar per operation (see Scalars).
        using var decay = WeightDecay.ToScalar();
        using var m = Momentum.ToScalar();
        using var clip = ClipFactor().ToScalar();
        foreach (var (name, p, decayed, scale) in parameters)
        {
            // Every temporary of the update, the gradient's handle included, is freed before the next parameter's.
            using var scope = NewDisposeScope();
            if (p.grad is not { } grad) continue;
            var weight = master.TryGetValue(name, out var w) ? w : (Tensor)p;
            var g = grad.to(float32);
            if (MaxGradNorm > 0) g = g.mul(clip);
            if (decayed && WeightDecay != 0) g = g.add(weight, alpha: decay);
            if (!momentum.TryGetValue(name, out var buf))
            {
                buf = g.clone().DetachFromDisposeScope();
                momentum[name] = buf;
            }
            else
            {
                buf.mul_(m).add_(g, Scalars.One);
            }
            var update = Nesterov ? g.add(buf, alpha: m) : buf;
            using var lr = (LearningRate * scale).ToScalar();
            weight.sub_(update.mul(lr));
            if (!ReferenceEquals(weight, p)) p.copy_(weight);
        }
    }

    // The factor that brings the gradients' joint norm down to MaxGradNorm, or 1.
    private double ClipFactor()
    {
        if (MaxGradNorm <= 0) return 1;
        using var scope = NewDisposeScope();
        double sumSquares = parameters.Where(p => p.Param.grad is not null).Sum(p => p.Param.grad!.to(float64).pow(2).sum().item<double>());
        return Math.Min(1, MaxGradNorm / (Math.Sqrt(sumSquares) + 1e-6));
    }

    /// <summary>Clears the gradients.</summary>
    public void ZeroGrad()
    {
        using var scope = NewDisposeScope(); // the gradients' handles, not the gradients
        foreach (var (_, p, _, _) in parameters) p.grad?.zero_();
    }

    /// <summary>The momentum buffers and float32 master weights by parameter name (for checkpoints).</summary>
    public IEnumerable<(string Key, Tensor Value)> State() =>
        momentum.Select(kv => ("momentum." + kv.Key, kv.Value)).Concat(master.Select(kv => ("master." + kv.Key, kv.Value)));

    /// <summary>Restores what <see cref="State"/> returned.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        var names = parameters.Select(p => p.Name).ToHashSet();
        foreach (var (key, value) in state)
        {
            var (kind, name) = key.StartsWith("momentum.") ? ("momentum", key[9..]) : key.StartsWith("master.") ? ("master", key[7..]) : ("", key);
            if (!names.Contains(name)) throw new MobileOneException($"optimizer state names unknown parameter '{name}'");
            if (kind == "momentum") momentum[name] = value.to(float32).clone();
            else if (kind == "master") master[name] = value.to(float32).clone();
            else throw new MobileOneException($"unexpected optimizer state key '{key}'");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var t in momentum.Values.Concat(master.Values)) t.Dispose();
    }
}

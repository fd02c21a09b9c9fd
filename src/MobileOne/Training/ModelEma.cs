using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>
/// Exponential moving average of a model's weights and BatchNorm statistics (paper: decay 0.9995), as
/// timm's ModelEma keeps it, with a warm-up min(decay, (1 + t) / (10 + t)) so that short runs are not
/// dominated by the initial weights. Integer buffers are copied.
/// </summary>
public sealed class ModelEma : IDisposable
{
    private readonly List<(Tensor Ema, Tensor Source)> pairs;

    /// <summary>Starts the average at the model's current weights.</summary>
    public ModelEma(MobileOneModel model, double decay) : this(model, new MobileOneModel(model.Config), decay) { }

    /// <summary>
    /// Starts the average at the model's current weights, kept in <paramref name="copy"/>: a new float32 model of
    /// the same architecture, which the average then owns.
    /// </summary>
    public ModelEma(nn.Module model, nn.Module copy, double decay)
    {
        if (decay is < 0 or >= 1) throw new MobileOneException($"EMA decay must be in [0, 1), found {decay}");
        Decay = decay;
        // Kept in float32 even when the model trains in bfloat16: the average needs the precision.
        Model = copy;
        Model.eval();
        var source = model.state_dict();
        var target = Model.state_dict();
        pairs = target.Select(kv => (kv.Value, source[kv.Key])).ToList();
        using var noGrad = no_grad();
        foreach (var (e, s) in pairs) e.copy_(s);
        foreach (var p in Model.parameters()) p.requires_grad = false;
    }

    /// <summary>The averaged model (eval mode).</summary>
    public nn.Module Model { get; }

    /// <summary>Target decay.</summary>
    public double Decay { get; }

    /// <summary>Decay used at update number <paramref name="updates"/> (0-based).</summary>
    public double DecayAt(long updates) => Math.Min(Decay, (1.0 + updates) / (10.0 + updates));

    /// <summary>ema = d ema + (1 - d) model, for the <paramref name="updates"/>-th update.</summary>
    public void Update(long updates)
    {
        double d = DecayAt(updates);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var weight = tensor((float)(1 - d)); // one weight for every tensor, not one per tensor left to the finalizer
        foreach (var (e, s) in pairs)
        {
            // ema + (1 - d)(model - ema), as timm's lerp: a tensor the model does not change (a frozen stage) stays bit-identical.
            if (e.is_floating_point()) e.lerp_(s.detach().to(e.dtype), weight);
            else e.copy_(s);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();
}

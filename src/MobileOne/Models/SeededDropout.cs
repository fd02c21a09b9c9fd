using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// Inverted dropout, as <c>torch.nn.Dropout</c> (in training, keep with probability 1 - p and scale the kept by
/// 1 / (1 - p); in evaluation, the identity), drawing its masks from a generator of its own rather than the
/// process's: a training loop seeds it per step (<see cref="Seed"/>), so that a resumed run draws the masks an
/// uninterrupted one drew, whatever else the process runs meanwhile. No parameters, so state dicts are as with nn.Dropout.
/// </summary>
public sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    private Generator? generator;

    /// <summary>Creates the layer with drop probability <paramref name="p"/> in [0, 1).</summary>
    public SeededDropout(double p) : base(nameof(SeededDropout))
    {
        if (p is < 0 or >= 1) throw new MobileOneException($"a dropout probability must be in [0, 1), found {p}");
        P = p;
    }

    /// <summary>The probability of dropping an element.</summary>
    public double P { get; }

    private Generator Generator => generator ??= new Generator(0);

    /// <summary>Seeds the generator of the masks.</summary>
    public void Seed(long seed) => Generator.manual_seed(seed);

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        if (!training || P == 0) return x.alias();
        using var keep = rand(x.shape, generator: Generator).ge_(P).to(x.dtype);
        return x * keep / (1 - P);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) generator?.Dispose();
        base.Dispose(disposing);
    }
}

using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>One network of the zoo.</summary>
/// <param name="Name">Zoo name (torchvision's function name where torchvision defines the network).</param>
/// <param name="Family">Architecture family, for grouping in plots.</param>
/// <param name="Reference">Where the definition comes from.</param>
/// <param name="Reparameterizable">True when the network has a train-time form that folds into the deployed one.</param>
/// <param name="Factory">Creates the network: the deployed (fused) form when the argument is true.</param>
public sealed record ZooEntry(string Name, string Family, string Reference, bool Reparameterizable, Func<bool, nn.Module<Tensor, Tensor>> Factory)
{
    /// <summary>What the network does: <c>classification</c>, or <c>detection</c> for a detector.</summary>
    public string Task { get; init; } = "classification";

    /// <summary>Its output classes (a detector's include the background).</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>The square input size its figures are measured at (224 for classifiers, 320 for SSDLite).</summary>
    public int InputSize { get; init; } = 224;

    /// <summary>True for MobileOne, which plots highlight.</summary>
    public bool IsMobileOne => Family == "MobileOne";

    /// <summary>A new instance in eval mode, deployed form by default, with seeded weights.</summary>
    public nn.Module<Tensor, Tensor> Create(bool deployed = true, long seed = 0)
    {
        var net = Factory(deployed);
        Models.WeightInit.Reset(net, seed);
        net.eval();
        return net;
    }
}

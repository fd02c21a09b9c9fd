using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// An image classifier of the zoo: named body modules run in order, a global average pool, then
/// named head modules (the classifier). The names are the reference implementation's top-level
/// state-dict names (torchvision's <c>features</c>/<c>classifier</c>, <c>conv1</c>...<c>fc</c>, ...),
/// so its checkpoints load by name.
/// </summary>
public sealed class ZooNetwork : nn.Module<Tensor, Tensor>
{
    private readonly (string Name, nn.Module<Tensor, Tensor> Module)[] body, head;

    /// <summary>Creates the network from its parts.</summary>
    public ZooNetwork(string name, IEnumerable<(string Name, nn.Module<Tensor, Tensor> Module)> body,
        IEnumerable<(string Name, nn.Module<Tensor, Tensor> Module)> head) : base(name)
    {
        Name = name;
        this.body = body.ToArray();
        this.head = head.ToArray();
        foreach (var (n, m) in this.body.Concat(this.head)) register_module(n, m);
    }

    /// <summary>The zoo name (e.g. <c>mobilenet_v2</c>).</summary>
    public string Name { get; }

    /// <summary>Input channels (of the first convolution).</summary>
    public long InChannels => body.SelectMany(p => p.Module.modules().Prepend(p.Module)).OfType<TorchSharp.Modules.Conv2d>().First().in_channels;

    /// <summary>Number of classes (outputs of the head's last linear layer).</summary>
    public long NumClasses => head.SelectMany(p => p.Module.modules().Prepend(p.Module)).OfType<TorchSharp.Modules.Linear>().Last().out_features;

    /// <summary>The modules before the global pool, in order.</summary>
    public IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Module)> Body => body;

    /// <summary>The modules after the global pool (the classifier), in order.</summary>
    public IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Module)> Head => head;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x;
        foreach (var (_, m) in body) h = m.call(h);
        h = h.mean([2, 3]);
        foreach (var (_, m) in head) h = m.call(h);
        return h.MoveToOuterDisposeScope();
    }
}

using MobileOne.Models;
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

    /// <summary>
    /// The body's units in order, named by their state-dict path: its top-level modules (ResNet's
    /// <c>conv1</c> ... <c>layer4</c>), or, when the body is one <c>Sequential</c> (torchvision's
    /// <c>features</c>), that one's children.
    /// </summary>
    public IEnumerable<(string Name, nn.Module<Tensor, Tensor> Module)> Units() =>
        body is [(var name, TorchSharp.Modules.Sequential features)]
            ? features.named_children().Select(c => ($"{name}.{c.name}", (nn.Module<Tensor, Tensor>)c.module))
            : body;

    /// <summary>
    /// The feature pyramid: for each stride the body reaches (2, 4, 8, 16, 32 for most networks), the output
    /// of the last unit (<see cref="Units"/>) at that stride, named after it. What a dense head consumes; the
    /// last map is the one the classifier pools. Intermediate maps are left to the caller's dispose scope, as
    /// <see cref="MobileOneModel.ForwardFeatures"/> leaves them.
    /// </summary>
    public IReadOnlyList<FeatureMap> ForwardPyramid(Tensor x)
    {
        var levels = new List<FeatureMap>();
        long height = x.shape[2];
        var h = x;
        foreach (var (name, unit) in Units())
        {
            h = unit.call(h);
            // Odd sizes round up at each stride-2 step: the stride is the nearest power of two to the ratio.
            int stride = 1 << (int)Math.Round(Math.Log2((double)height / h.shape[2]));
            if (stride == 1) continue;
            var map = new FeatureMap(new FeatureLevel(name, (int)h.shape[1], stride, 1), h);
            if (levels.Count > 0 && levels[^1].Stride == stride) levels[^1] = map;
            else levels.Add(map);
        }
        return levels;
    }

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

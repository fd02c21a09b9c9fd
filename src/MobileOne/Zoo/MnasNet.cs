using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>MNASNet 1.0 (Tan et al. 2019) exactly as torchvision builds <c>mnasnet1_0()</c>: 4.4M parameters, 314M MACs.</summary>
public static class MnasNet
{
    // (output, kernel, stride, expansion, repeats) of the six stacks, for depth multiplier 1.0.
    private static readonly (int Out, int K, int S, int E, int N)[] Stacks =
        [(24, 3, 2, 3, 3), (40, 5, 2, 3, 3), (80, 5, 2, 6, 3), (96, 3, 1, 6, 2), (192, 5, 2, 6, 4), (320, 3, 1, 6, 1)];

    /// <summary>MNASNet 1.0.</summary>
    public static ZooNetwork A1_0(int numClasses = 1000)
    {
        // torchvision flattens the stem into one Sequential with the stacks: conv, bn, relu, dw, bn, relu, pw, bn, ...
        var layers = new List<nn.Module<Tensor, Tensor>>
        {
            Layers.Conv(3, 32, 3, 2), Layers.Norm(32), nn.ReLU(),
            Layers.Conv(32, 32, 3, 1, groups: 32), Layers.Norm(32), nn.ReLU(),
            Layers.Conv(32, 16, 1), Layers.Norm(16),
        };
        int c = 16;
        foreach (var st in Stacks)
        {
            layers.Add(Layers.Numbered(Enumerable.Range(0, st.N).Select(i =>
            {
                int inC = i == 0 ? c : st.Out, stride = i == 0 ? st.S : 1, mid = inC * st.E;
                var body = Layers.Numbered(
                    Layers.Conv(inC, mid, 1), Layers.Norm(mid), nn.ReLU(),
                    Layers.Conv(mid, mid, st.K, stride, groups: mid), Layers.Norm(mid), nn.ReLU(),
                    Layers.Conv(mid, st.Out, 1), Layers.Norm(st.Out));
                return new InvertedResidual("layers", body, stride == 1 && inC == st.Out);
            })));
            c = st.Out;
        }
        layers.AddRange([Layers.Conv(c, 1280, 1), Layers.Norm(1280), nn.ReLU()]);
        return new ZooNetwork("mnasnet1_0", [("layers", Layers.Numbered(layers))],
            [("classifier", Layers.Numbered(nn.Dropout(0.2), nn.Linear(1280, numClasses)))]);
    }
}

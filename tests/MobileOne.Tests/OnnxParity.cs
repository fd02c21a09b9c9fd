using MobileOne.Inference;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>ONNX Runtime on an exported file against TorchSharp on the module it came from, on a seeded random batch.</summary>
public static class OnnxParity
{
    /// <summary>
    /// Asserts the logits agree within 1e-4 relative to their largest magnitude (absolute below 1) and
    /// logs the difference; returns it.
    /// </summary>
    public static double AssertRunsLikeTorch(nn.Module<Tensor, Tensor> net, string path, int n, int h, int w, ITestOutputHelper output, ulong seed = 7)
    {
        using var scope = NewDisposeScope();
        var x = randn([n, 3, h, w], generator: new Generator(seed));
        using var onnx = new OnnxEngine(path, threads: 2);
        var ort = onnx.Run(x.data<float>().ToArray(), n, h, w);
        using var noGrad = no_grad();
        var expected = net.forward(x);
        double scale = Math.Max(1, expected.abs().max().item<float>());
        var diff = TensorAssert.Close(expected, tensor(ort, expected.shape), 1e-4 * scale, Path.GetFileName(path));
        output.WriteLine($"{Path.GetFileName(path)} {n}x3x{h}x{w}: max |ORT - TorchSharp| = {diff:E2} (logits up to {scale:G3})");
        return diff;
    }
}

using MobileOne.Export;
using MobileOne.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Study;

/// <summary>Puts any classifier of the zoo behind an inference engine, the way <c>bench</c> runs MobileOne.</summary>
public static class StudyEngine
{
    /// <summary>
    /// ONNX Runtime on the graph exported in memory at the given input size (BatchNorm folded, as a deployed
    /// model runs), or TorchSharp eager on the module itself.
    /// </summary>
    public static IInferenceEngine Create(nn.Module<Tensor, Tensor> network, InferenceBackend backend, int threads, int height, int width, string name)
    {
        network.eval();
        if (backend == InferenceBackend.Onnx)
            return new OnnxEngine(OnnxExporter.ToBytes(network, new OnnxExportOptions { InputHeight = height, InputWidth = width }), threads, name);
        var (channels, classes) = OnnxExporter.Describe(network);
        return new TorchEngine(network, (int)channels, (int)classes, threads);
    }

    /// <summary>A seeded random image batch.</summary>
    public static float[] RandomInput(int batch, int height, int width, int channels = 3)
    {
        using var x = randn([batch, channels, height, width], generator: new Generator(0));
        return x.data<float>().ToArray();
    }
}

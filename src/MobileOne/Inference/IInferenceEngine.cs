namespace MobileOne.Inference;

/// <summary>Something that turns a float NCHW batch into logits: ONNX Runtime or TorchSharp.</summary>
public interface IInferenceEngine : IDisposable
{
    /// <summary>"onnx" or "torch".</summary>
    string Name { get; }

    /// <summary>Number of output classes.</summary>
    int NumClasses { get; }

    /// <summary>Channels of the input images (3, or 1 for a grayscale model).</summary>
    int InputChannels { get; }

    /// <summary>
    /// Prepares repeated runs on one pre-allocated input of shape [n, channels, h, w] (the benchmark protocol):
    /// the returned run reads <paramref name="input"/> as it is at call time and returns the logits.
    /// </summary>
    Func<float[]> Prepare(float[] input, int n, int h, int w);

    /// <summary>Runs once: logits [n * classes], row-major.</summary>
    float[] Run(float[] input, int n, int h, int w);
}

/// <summary>Checks an engine makes of what it is given.</summary>
public static class InferenceEngineChecks
{
    /// <summary>Refuses, naming <paramref name="source"/>, a graph that does not take the RGB images a data set's loader gives.</summary>
    public static void RequireRgb(this IInferenceEngine engine, string source)
    {
        if (engine.InputChannels != 3)
            throw new MobileOneException($"{source}: the graph takes {engine.InputChannels}-channel input; the data set's images are RGB");
    }
}

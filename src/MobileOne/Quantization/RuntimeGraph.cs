using Microsoft.ML.OnnxRuntime;
using MobileOne.Inference;

namespace MobileOne.Quantization;

/// <summary>The graph ONNX Runtime actually runs once it has optimised a model: which kernels (QLinearConv, QGemm, ...) its QDQ pairs became.</summary>
public static class RuntimeGraph
{
    /// <summary>Operator types of <paramref name="model"/> after ONNX Runtime's full CPU optimisation, with their counts, in order of first appearance.</summary>
    public static IReadOnlyList<(string OpType, int Count)> OpTypes(byte[] model, string source)
    {
        var dump = Path.Combine(Path.GetTempPath(), $"mobileone-optimized-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1, OptimizedModelFilePath = dump })
            {
                options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
                try { using var session = new InferenceSession(model, options); }
                catch (OnnxRuntimeException e) { throw new MobileOneException($"{source}: not a valid ONNX model ({OnnxEngine.FirstLine(e.Message)})"); }
            }
            var graph = OnnxQuantizer.Parse(File.ReadAllBytes(dump), dump).Graph;
            return graph.Node.GroupBy(n => n.OpType).Select(g => (g.Key, g.Count())).ToList();
        }
        finally
        {
            File.Delete(dump);
        }
    }
}

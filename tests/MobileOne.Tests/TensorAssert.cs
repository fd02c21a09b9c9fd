using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

public static class TensorAssert
{
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(a.shape, b.shape);
        using var d = (a.to(float64) - b.to(float64)).abs().max();
        return d.item<double>();
    }

    /// <summary>Asserts max |a - b| &lt;= tol and returns the difference (for the log).</summary>
    public static double Close(Tensor expected, Tensor actual, double tol, string what)
    {
        var diff = MaxAbsDiff(expected, actual);
        Assert.True(diff <= tol, $"{what}: max abs diff {diff:E3} exceeds {tol:E1}");
        return diff;
    }
}

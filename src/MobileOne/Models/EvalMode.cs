using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// Puts modules in eval mode (BatchNorm on its running statistics, dropout off) until disposed, then gives each
/// the mode it had, also when what ran in between failed.
/// </summary>
public sealed class EvalMode : IDisposable
{
    private readonly (nn.Module Module, bool Training)[] modes;

    /// <summary>Records the modes of <paramref name="modules"/> and puts them in eval mode.</summary>
    public EvalMode(params nn.Module[] modules)
    {
        modes = modules.Select(m => (m, m.training)).ToArray();
        foreach (var m in modules) m.eval();
    }

    /// <summary>Gives each module its recorded mode back.</summary>
    public void Dispose()
    {
        foreach (var (module, training) in modes) module.train(training);
    }
}

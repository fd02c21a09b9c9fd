using System.Diagnostics;
using MobileOne.Data;

namespace MobileOne.Quickstart;

/// <summary>Installs Fashion-MNIST from Debian's package when it is missing (as root only).</summary>
public static class FashionMnistInstaller
{
    /// <summary>Makes sure Fashion-MNIST is installed; <paramref name="progress"/> is told when an install starts.</summary>
    public static void Ensure(Action<string> progress)
    {
        if (FashionMnist.IsInstalled()) return;
        progress("quickstart: Fashion-MNIST is not installed; installing Debian's package dataset-fashion-mnist");
        if (Environment.UserName != "root")
            throw new MobileOneException("Fashion-MNIST is missing and installing it needs root: run 'sudo apt-get install dataset-fashion-mnist', then the quickstart again");
        foreach (var args in new[] { "update -qq", "install -y -qq dataset-fashion-mnist" }) AptGet(args);
        if (!FashionMnist.IsInstalled()) throw new MobileOneException($"dataset-fashion-mnist installed, but {FashionMnist.DefaultRoot} lacks the files");
    }

    private static void AptGet(string args)
    {
        var psi = new ProcessStartInfo("apt-get", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var p = Process.Start(psi) ?? throw new MobileOneException("could not start apt-get");
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new MobileOneException($"apt-get {args} failed ({p.ExitCode}): {err.Result.Trim()}; install dataset-fashion-mnist by hand");
    }
}

using System.Runtime.InteropServices;

namespace MobileOne.Models;

/// <summary>
/// LibTorch reports a failure as an <see cref="ExternalException"/> whose message goes on with a C++
/// backtrace; a user needs its first line, as the project's own exception, and the backtrace never.
/// </summary>
public static class TorchErrors
{
    /// <summary>Runs <paramref name="work"/>; a LibTorch failure becomes a <see cref="MobileOneException"/> saying <paramref name="what"/> failed and why.</summary>
    public static T Run<T>(Func<T> work, string what)
    {
        try { return work(); }
        catch (ExternalException e) { throw new MobileOneException($"{what} failed: {FirstLine(e.Message)}", e); }
    }

    /// <summary>The message without LibTorch's backtrace (which starts on the next line or at "Exception raised from").</summary>
    public static string FirstLine(string message)
    {
        var line = message.Split('\n')[0];
        int at = line.IndexOf("Exception raised from", StringComparison.Ordinal);
        return (at > 0 ? line[..at] : line).Trim();
    }
}

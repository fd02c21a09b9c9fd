using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MobileOne.Fuzz.Worker;

/// <summary>
/// Keeps the worker protocol away from anything native code prints: the original stdout is duplicated
/// into a private descriptor for the protocol, and descriptor 1 is pointed at stderr, so a LibTorch or
/// ONNX Runtime message written to stdout lands among the diagnostics instead of in a reply.
/// </summary>
public static class StdoutGuard
{
    [DllImport("libc", SetLastError = true)]
    private static extern int dup(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int dup2(int oldFd, int newFd);

    /// <summary>
    /// The protocol stream. Must run before anything touches <see cref="Console.Out"/>, which keeps its own
    /// duplicate of whatever descriptor 1 is when it is first used.
    /// </summary>
    public static Stream TakeStdout()
    {
        if (!OperatingSystem.IsLinux()) return Console.OpenStandardOutput();
        int saved = dup(1);
        if (saved < 0 || dup2(2, 1) < 0)
            throw new IOException($"cannot redirect stdout (errno {Marshal.GetLastPInvokeError()})");
        return new FileStream(new SafeFileHandle(saved, ownsHandle: true), FileAccess.Write, bufferSize: 1);
    }
}

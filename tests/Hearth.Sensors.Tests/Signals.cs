using System.Runtime.InteropServices;

namespace Hearth.Sensors.Tests;

/// <summary>Sends POSIX signals to child processes (SIGTERM for graceful stops), which <see cref="System.Diagnostics.Process"/> cannot.</summary>
internal static partial class Signals
{
    public const int SigTerm = 15;

    public static void Send(int pid, int signal)
    {
        if (kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}

using System.Diagnostics;
using System.Text;

namespace Hearth.Agents.Tests.Code;

/// <summary>Starts the real programs the tests use (dotnet, diff, patch, git), without a shell and isolated from the user's settings.</summary>
internal static class TestProcess
{
    public static ProcessStartInfo StartInfo(string program, string workingDirectory, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // No build servers left behind, no telemetry, no user or system git configuration, stable messages.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["LC_ALL"] = "C";
        return start;
    }

    /// <summary>Whether a process runs <paramref name="program"/> with exactly <paramref name="arguments"/> in
    /// <paramref name="directory"/> (read from /proc), to know a command has started.</summary>
    public static bool IsRunningIn(string directory, string program, params string[] arguments)
    {
        var tail = string.Concat(arguments.Select(a => a + "\0"));
        foreach (var process in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                // argv[0] is the program as started: its name, or its full path.
                var commandLine = File.ReadAllText(Path.Combine(process, "cmdline"));
                int end = commandLine.IndexOf('\0');
                if (end < 0 || Path.GetFileName(commandLine[..end]) != program || commandLine[(end + 1)..] != tail) continue;
                if (new DirectoryInfo(Path.Combine(process, "cwd")).LinkTarget == directory) return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A process that ended meanwhile, or one of another user.
            }
        }

        return false;
    }

    /// <summary>Runs a program to its end: its exit code, and its standard output and error.</summary>
    public static (int Code, string Out, string Err) Run(string program, string workingDirectory, params string[] arguments)
    {
        using var p = Process.Start(StartInfo(program, workingDirectory, arguments))!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}

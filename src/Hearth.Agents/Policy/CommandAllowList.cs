using System.Diagnostics;
using System.Text;

namespace Hearth.Agents.Policy;

/// <summary>Matching a command against the policy's allow-list, finding the program, and running it with limits.</summary>
public static class CommandAllowList
{
    /// <summary>
    /// Checks <paramref name="program"/> and <paramref name="arguments"/> against the rules and returns the arguments
    /// to run with (each <c>{path}</c> argument replaced by <paramref name="resolvePath"/>'s full path).
    /// </summary>
    /// <exception cref="PermissionDeniedException">The program is not listed, or no pattern matches the arguments.</exception>
    public static IReadOnlyList<string> Match(IReadOnlyList<CommandRule> rules, string program, IReadOnlyList<string> arguments, Func<string, string> resolvePath)
    {
        var shown = PathGuard.Printable(program);
        var listed = rules.Where(r => r.Program == program).ToList();
        if (listed.Count == 0)
            throw new PermissionDeniedException($"running '{shown}' is refused: it is not on the policy's command allow-list ({(rules.Count == 0 ? "which is empty" : string.Join(", ", rules.Select(r => r.Program).Distinct()))})");
        if (arguments.Any(a => a.Contains('\0'))) throw new PermissionDeniedException($"running '{shown}' is refused: an argument contains a NUL byte");
        string? pathProblem = null;
        foreach (var pattern in listed.SelectMany(r => r.Arguments))
        {
            if (pattern.Tokens.Count != arguments.Count) continue;
            var resolved = new string[arguments.Count];
            bool ok = true;
            for (int i = 0; i < arguments.Count && ok; i++)
            {
                var token = pattern.Tokens[i];
                if (pattern.Exact)
                {
                    ok = token == arguments[i];
                    resolved[i] = arguments[i];
                }
                else if (token == ArgumentPattern.PathToken)
                {
                    try
                    {
                        resolved[i] = resolvePath(arguments[i]);
                    }
                    catch (PermissionDeniedException e)
                    {
                        pathProblem = e.Message;
                        ok = false;
                    }
                }
                else if (Glob(token, arguments[i]))
                {
                    resolved[i] = arguments[i];
                }
                else
                {
                    ok = false;
                }
            }

            if (ok) return resolved;
        }

        var patterns = string.Join(" | ", listed.SelectMany(r => r.Arguments).Select(p => p.Tokens.Count == 0 ? "(no arguments)" : p.ToString()));
        var commandLine = string.Join(' ', arguments.Select(a => Quote(PathGuard.Printable(a))).Prepend(shown));
        throw new PermissionDeniedException($"running '{commandLine}' is refused: the arguments match none of the allowed patterns ({patterns})"
            + (pathProblem != null ? $"; {pathProblem}" : ""));
    }

    /// <summary>Whole-string wildcard match: <c>*</c> any run of characters, <c>?</c> one character, everything else literal.</summary>
    public static bool Glob(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]) && pattern[p] != '*')
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>The program's full path: itself when absolute, else the first executable file of that name on PATH.</summary>
    /// <exception cref="FileNotFoundException">It does not exist or is not on PATH.</exception>
    public static string FindExecutable(string program)
    {
        if (Path.IsPathFullyQualified(program))
            return File.Exists(program) ? program : throw new FileNotFoundException($"the program '{program}' does not exist", program);
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (!File.Exists(candidate)) continue;
            if (OperatingSystem.IsWindows() || (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }

        throw new FileNotFoundException($"the program '{program}' is not on PATH", program);
    }

    /// <summary>An argument as a shell would need it written (for display only; nothing runs through a shell).</summary>
    public static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? argument : "'" + argument.Replace("'", "'\\''") + "'";

    /// <summary>
    /// Runs a program directly (no shell) with standard input closed and a minimal environment (PATH, HOME, LANG);
    /// keeps at most <paramref name="maxOutputBytes"/> of each output stream; kills the process tree after
    /// <paramref name="timeout"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired (the process tree is killed first).</exception>
    public static async Task<CommandResult> RunAsync(string executable, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout,
        int maxOutputBytes, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        psi.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        psi.Environment["HOME"] = Environment.GetEnvironmentVariable("HOME") ?? workingDirectory;
        psi.Environment["LANG"] = "C.UTF-8";
        using var process = Process.Start(psi) ?? throw new IOException($"could not start '{executable}'");
        process.StandardInput.Close();
        var stdout = CaptureAsync(process.StandardOutput.BaseStream, maxOutputBytes);
        var stderr = CaptureAsync(process.StandardError.BaseStream, maxOutputBytes);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancel.ThrowIfCancellationRequested();
            timedOut = true;
        }

        return new CommandResult(timedOut ? -1 : process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false), timedOut);
    }

    private static async Task<string> CaptureAsync(Stream stream, int maxBytes)
    {
        var kept = new MemoryStream();
        var buffer = new byte[8192];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            int keep = (int)Math.Clamp(maxBytes - total, 0, n);
            if (keep > 0) kept.Write(buffer, 0, keep);
            total += n;
        }

        var text = Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
        return total > maxBytes ? text + $"\n[output cut at {maxBytes} of {total} bytes]" : text;
    }
}

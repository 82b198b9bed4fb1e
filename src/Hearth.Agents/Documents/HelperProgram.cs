using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Hearth.Agents.Documents;

/// <summary>What a helper program printed and how it ended.</summary>
internal sealed record ProgramOutput(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// Runs the extractor's own trusted helpers (pdftotext, pdftoppm, pdfinfo, tesseract). These are not commands an agent
/// chooses: the program and argument array are fixed by the extractor, started directly (never through a shell), with
/// standard input closed, a timeout that kills the whole process tree, and a cap on what is kept of its output.
/// </summary>
internal static class HelperProgram
{
    /// <summary>How much of standard error is kept (the rest is read and dropped so the program never blocks).</summary>
    private const int MaxStandardErrorChars = 16 * 1024;

    private static readonly Encoding s_utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="arguments"/> and waits for it to end. <paramref name="package"/>
    /// is the Debian package that provides the program, named in the error when it is missing; standard output beyond
    /// <paramref name="maxOutputChars"/> characters stops the program.
    /// </summary>
    /// <exception cref="MissingProgramException">The program is not installed.</exception>
    /// <exception cref="ToolTimeoutException">It ran past <paramref name="timeout"/>; it was killed.</exception>
    /// <exception cref="DocumentTooLargeException">It printed more than <paramref name="maxOutputChars"/>; it was killed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired; the program was killed.</exception>
    public static async Task<ProgramOutput> RunAsync(string program, string package, IReadOnlyList<string> arguments, TimeSpan timeout,
        int maxOutputChars, CancellationToken cancel)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = s_utf8,
            StandardErrorEncoding = s_utf8,
            CreateNoWindow = true,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e) when (e.NativeErrorCode == 2)
        {
            throw new MissingProgramException(program, package);
        }
        catch (Win32Exception e)
        {
            throw new DocumentException($"could not start '{program}': {e.Message}", e);
        }

        process.StandardInput.Close();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        stop.CancelAfter(timeout);
        void Kill()
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It had already ended.
            }
        }

        var stdout = ReadCappedAsync(process.StandardOutput, maxOutputChars, Kill);
        var stderr = ReadCappedAsync(process.StandardError, MaxStandardErrorChars, onOverflow: null);
        try
        {
            await process.WaitForExitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
            await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
            cancel.ThrowIfCancellationRequested();
            throw new ToolTimeoutException(program, timeout);
        }

        var (output, overflowed) = await stdout.ConfigureAwait(false);
        var (errors, _) = await stderr.ConfigureAwait(false);
        if (overflowed) throw new DocumentTooLargeException($"'{program}' printed more than {maxOutputChars:N0} characters (the text limit); it was stopped");
        return new ProgramOutput(process.ExitCode, output, errors);
    }

    /// <summary>The last lines of a program's error output (where poppler and Tesseract say what failed), at most 400 characters.</summary>
    public static string ErrorSummary(string errors)
    {
        var lines = errors.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0) return "(no message)";
        var summary = string.Join("; ", lines.Skip(Math.Max(0, lines.Length - 3)).Select(l => new string(l.Where(c => !char.IsControl(c)).ToArray())));
        return summary.Length <= 400 ? summary : summary[..400] + "…";
    }

    /// <summary>
    /// Reads a stream to its end keeping at most <paramref name="cap"/> characters. Past the cap it calls
    /// <paramref name="onOverflow"/> and stops when one is given (the caller kills the program), and otherwise keeps
    /// reading and dropping so the program never blocks on a full pipe.
    /// </summary>
    private static async Task<(string Text, bool Overflowed)> ReadCappedAsync(StreamReader reader, int cap, Action? onOverflow)
    {
        var text = new StringBuilder();
        var buffer = new char[8192];
        bool overflowed = false;
        int n;
        while ((n = await reader.ReadAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
        {
            if (overflowed) continue;
            if (text.Length + n > cap)
            {
                text.Append(buffer, 0, cap - text.Length);
                overflowed = true;
                if (onOverflow == null) continue;
                onOverflow();
                break;
            }

            text.Append(buffer, 0, n);
        }

        return (text.ToString(), overflowed);
    }
}

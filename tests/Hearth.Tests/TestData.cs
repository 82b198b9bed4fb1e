namespace Hearth.Tests;

/// <summary>
/// The one place tests find the read-only shared data set: <c>$HEARTH_TESTDATA</c> when set, otherwise the
/// <c>shared</c> folder beside the repository (found by walking up from the test binary).
/// </summary>
public static class TestData
{
    private static readonly Lazy<string> s_root = new(Resolve);

    public static string Root => s_root.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Resolve()
    {
        var env = Environment.GetEnvironmentVariable("HEARTH_TESTDATA");
        if (!string.IsNullOrEmpty(env))
        {
            return Directory.Exists(env) ? env : throw new DirectoryNotFoundException($"HEARTH_TESTDATA={env} does not exist");
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared");
            if (File.Exists(System.IO.Path.Combine(candidate, "DESIGN.md")) && dir.GetFiles("*.sln").Length == 0)
            {
                return candidate;
            }

            var sibling = System.IO.Path.Combine(dir.FullName, "..", "shared");
            if (dir.GetFiles("Hearth.sln").Length > 0 && Directory.Exists(sibling))
            {
                return System.IO.Path.GetFullPath(sibling);
            }
        }

        throw new DirectoryNotFoundException("shared test data not found: put it beside the repository as ../shared or set HEARTH_TESTDATA");
    }
}

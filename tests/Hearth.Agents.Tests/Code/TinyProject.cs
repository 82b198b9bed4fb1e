using System.Text;

namespace Hearth.Agents.Tests.Code;

/// <summary>
/// A real, tiny C# console project in a temporary directory, restored and built once: <c>Program.cs</c> exits with 0
/// only when <c>Calc.Add</c> adds, and <c>Calc.cs</c> (UTF-8 with a byte order mark, CRLF, no final newline) subtracts.
/// No packages, so nothing is downloaded; <c>dotnet run --no-restore</c> is the check command.
/// </summary>
public sealed class TinyProject : IDisposable
{
    /// <summary>The collection of the test classes sharing the project (they run one after another).</summary>
    public const string Collection = "tiny C# project";

    public const string CalcFile = "Calc.cs";

    /// <summary>Calc.cs as it starts: line 5 is the bug.</summary>
    public static readonly byte[] CalcBytes = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(string.Join("\r\n",
        "namespace Demo;",
        "",
        "public static class Calc",
        "{",
        "    public static int Add(int a, int b) => a - b;",
        "}"))];

    private const string ProgramText = "return Demo.Calc.Add(2, 3) == 5 && Demo.Calc.Add(-4, 1) == -3 ? 0 : 1;\n";

    private const string ProjectText = """
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <UseAppHost>false</UseAppHost>
            <GenerateDocumentationFile>false</GenerateDocumentationFile>
          </PropertyGroup>
        </Project>
        """;

    public TinyProject()
    {
        Root = Directory.CreateTempSubdirectory("hearth-codeedit-").FullName;
        Reset();
        var (code, output, error) = TestProcess.Run("dotnet", Root, "build", "-nologo", "-v", "q");
        // The starting project builds; its check fails (the bug) only when run.
        if (code != 0) throw new InvalidOperationException($"the tiny project does not build: {output}{error}");
    }

    public string Root { get; }

    public string CalcPath => Path.Combine(Root, CalcFile);

    /// <summary>Puts every source back as it started and removes anything a test added.</summary>
    public void Reset()
    {
        foreach (var file in Directory.EnumerateFiles(Root, "*", SearchOption.TopDirectoryOnly)) File.Delete(file);
        foreach (var dir in Directory.EnumerateDirectories(Root).Where(d => Path.GetFileName(d) is not ("bin" or "obj"))) Directory.Delete(dir, true);
        File.WriteAllText(Path.Combine(Root, "Calc.csproj"), ProjectText);
        File.WriteAllText(Path.Combine(Root, "Program.cs"), ProgramText);
        File.WriteAllBytes(CalcPath, CalcBytes);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>The test classes that edit the tiny project share one, built once, and run one after another.</summary>
[CollectionDefinition(TinyProject.Collection)]
public sealed class TinyProjectCollection : ICollectionFixture<TinyProject>
{
}

namespace Hearth.Agents.Documents;

/// <summary>The text Tesseract read from an image and the languages of the pass kept.</summary>
internal sealed record OcrText(string Text, IReadOnlyList<string> Languages);

/// <summary>
/// OCR with the Tesseract program (<c>tesseract IMAGE stdout -l LANGS</c>). Checks once that the data for every
/// language asked for is installed; narrows the languages per image as <see cref="DocumentTextOptions.NarrowOcrLanguages"/> says.
/// </summary>
internal sealed class TesseractOcr(DocumentTextOptions options)
{
    private const string Package = "tesseract-ocr";
    private readonly IReadOnlyList<string> _languages = OcrLanguageSet.Parse(options.OcrLanguages);
    private bool _checked;

    /// <summary>Reads the text of one image file (PNG, JPEG, TIFF; every page of a multi-page TIFF).</summary>
    /// <exception cref="MissingProgramException">tesseract is not installed.</exception>
    /// <exception cref="MissingOcrLanguageException">The data of a language asked for is not installed.</exception>
    /// <exception cref="CorruptDocumentException">Tesseract could not read the image.</exception>
    public async Task<OcrText> RecognizeAsync(string imagePath, CancellationToken cancel)
    {
        await CheckLanguagesAsync(cancel).ConfigureAwait(false);
        var text = await RunAsync(imagePath, _languages, cancel).ConfigureAwait(false);
        if (!options.NarrowOcrLanguages || _languages.Count < 2) return new OcrText(text, _languages);
        var narrowed = OcrLanguageSet.Narrow(_languages, text);
        if (narrowed.Count == 0 || narrowed.Count == _languages.Count) return new OcrText(text, _languages);
        return new OcrText(await RunAsync(imagePath, narrowed, cancel).ConfigureAwait(false), narrowed);
    }

    private async Task<string> RunAsync(string imagePath, IReadOnlyList<string> languages, CancellationToken cancel)
    {
        var result = await HelperProgram.RunAsync(options.TesseractProgram, Package, [imagePath, "stdout", "-l", string.Join('+', languages)],
            options.ToolTimeout, options.MaxTextChars, cancel).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new CorruptDocumentException($"Tesseract could not read the image: {HelperProgram.ErrorSummary(result.StandardError)}");
        return result.StandardOutput;
    }

    private async Task CheckLanguagesAsync(CancellationToken cancel)
    {
        if (_checked) return;
        var result = await HelperProgram.RunAsync(options.TesseractProgram, Package, ["--list-langs"], options.ToolTimeout, 64 * 1024, cancel).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new DocumentException($"'{options.TesseractProgram} --list-langs' failed: {HelperProgram.ErrorSummary(result.StandardError)}");
        // The first line names the data folder ("List of available languages in ..."); one code per line follows.
        var installed = result.StandardOutput.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("List of", StringComparison.Ordinal)).ToList();
        foreach (var language in _languages)
        {
            if (!installed.Contains(language)) throw new MissingOcrLanguageException(language, installed);
        }

        _checked = true;
    }
}

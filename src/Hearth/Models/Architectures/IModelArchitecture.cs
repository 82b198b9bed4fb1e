using Hearth.Gguf;

namespace Hearth.Models.Architectures;

/// <summary>
/// One model family: reads its hyper-parameters and binds its weights into the shared <see cref="Transformer"/>.
/// Implementations are registered in <see cref="ArchitectureRegistry"/> under their <c>general.architecture</c> name.
/// </summary>
public interface IModelArchitecture
{
    /// <summary>The <c>general.architecture</c> value this class handles.</summary>
    string Name { get; }

    /// <summary>Builds the model. <paramref name="context"/> is the context the caller will run with (LongRoPE picks its factors by it).</summary>
    /// <exception cref="ModelFormatException">A tensor is missing or misshapen, or a hyper-parameter is invalid.</exception>
    Transformer Build(GgufFile file, int context);
}

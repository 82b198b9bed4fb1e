using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hearth.Server.OpenAI;

// Wire shapes of OpenAI's API (https://platform.openai.com/docs/api-reference). Properties are snake_case on the wire
// (ServerJson.Options); fields that may take several JSON shapes are JsonElement and are checked by the mappers.

internal sealed class ChatCompletionRequestDto
{
    public string? Model { get; set; }

    /// <summary>Hearth extension: LoRA adapters of the server's adapter directory, by name, with scales.</summary>
    public List<LoraDto>? Lora { get; set; }

    public List<ChatMessageDto>? Messages { get; set; }

    public bool? Stream { get; set; }

    public StreamOptionsDto? StreamOptions { get; set; }

    public float? Temperature { get; set; }

    public float? TopP { get; set; }

    public long? MaxTokens { get; set; }

    public long? MaxCompletionTokens { get; set; }

    public float? PresencePenalty { get; set; }

    public float? FrequencyPenalty { get; set; }

    public long? Seed { get; set; }

    public JsonElement? Stop { get; set; }

    public int? N { get; set; }

    public bool? Logprobs { get; set; }

    public int? TopLogprobs { get; set; }

    public JsonElement? ResponseFormat { get; set; }

    public List<ToolDto>? Tools { get; set; }

    public JsonElement? ToolChoice { get; set; }

    /// <summary>Extension: how long the model stays loaded after this request (Go duration or seconds).</summary>
    public JsonElement? KeepAlive { get; set; }

    /// <summary>Extension (llama.cpp, vLLM): keep the k most likely tokens.</summary>
    public int? TopK { get; set; }

    /// <summary>Extension (llama.cpp, vLLM): drop tokens below min_p × the most likely.</summary>
    public float? MinP { get; set; }
}

internal sealed class StreamOptionsDto
{
    public bool? IncludeUsage { get; set; }
}

internal sealed class ChatMessageDto
{
    public string? Role { get; set; }

    public JsonElement? Content { get; set; }

    public string? Name { get; set; }

    public List<ToolCallDto>? ToolCalls { get; set; }

    public string? ToolCallId { get; set; }
}

internal sealed class ToolDto
{
    public string? Type { get; set; }

    public FunctionDto? Function { get; set; }
}

internal sealed class FunctionDto
{
    public string? Name { get; set; }

    public string? Description { get; set; }

    public JsonElement? Parameters { get; set; }

    public bool? Strict { get; set; }
}

internal sealed class ToolCallDto
{
    public string? Id { get; set; }

    public string? Type { get; set; }

    public ToolCallFunctionDto? Function { get; set; }
}

internal sealed class ToolCallFunctionDto
{
    public string? Name { get; set; }

    public string? Arguments { get; set; }
}

internal sealed class CompletionRequestDto
{
    public string? Model { get; set; }

    /// <summary>Hearth extension: LoRA adapters of the server's adapter directory, by name, with scales.</summary>
    public List<LoraDto>? Lora { get; set; }

    public JsonElement? Prompt { get; set; }

    public bool? Stream { get; set; }

    public StreamOptionsDto? StreamOptions { get; set; }

    public float? Temperature { get; set; }

    public float? TopP { get; set; }

    public long? MaxTokens { get; set; }

    public float? PresencePenalty { get; set; }

    public float? FrequencyPenalty { get; set; }

    public long? Seed { get; set; }

    public JsonElement? Stop { get; set; }

    public int? N { get; set; }

    public int? BestOf { get; set; }

    public bool? Echo { get; set; }

    public string? Suffix { get; set; }

    public int? Logprobs { get; set; }

    public JsonElement? KeepAlive { get; set; }

    public int? TopK { get; set; }

    public float? MinP { get; set; }
}

internal sealed class EmbeddingRequestDto
{
    public string? Model { get; set; }

    public JsonElement? Input { get; set; }

    public string? EncodingFormat { get; set; }

    public int? Dimensions { get; set; }

    public JsonElement? KeepAlive { get; set; }
}

// ---------------------------------------------------------------- responses

internal sealed record UsageDto(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record ChatCompletionDto(string Id, long Created, string Model, IReadOnlyList<ChatChoiceDto> Choices, UsageDto Usage)
{
    public string Object => "chat.completion";

    public string SystemFingerprint => "hearth";
}

internal sealed record ChatChoiceDto(int Index, AssistantMessageDto Message, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] LogprobsDto? Logprobs, string FinishReason);

internal sealed record AssistantMessageDto([property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content, IReadOnlyList<ToolCallOutDto>? ToolCalls)
{
    public string Role => "assistant";

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Refusal => null;
}

internal sealed record ToolCallOutDto(string Id, FunctionCallOutDto Function)
{
    public string Type => "function";
}

internal sealed record FunctionCallOutDto(string Name, string Arguments);

internal sealed record LogprobsDto(IReadOnlyList<TokenLogprobDto> Content)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Refusal => null;
}

internal sealed record TokenLogprobDto(string Token, float Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<TopLogprobDto> TopLogprobs);

internal sealed record TopLogprobDto(string Token, float Logprob, IReadOnlyList<int> Bytes);

internal sealed record ChatChunkDto(string Id, long Created, string Model, IReadOnlyList<ChatChunkChoiceDto> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] UsageDto? Usage)
{
    public string Object => "chat.completion.chunk";

    public string SystemFingerprint => "hearth";
}

internal sealed record ChatChunkChoiceDto(int Index, ChatDeltaDto Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] LogprobsDto? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record ChatDeltaDto(string? Role, string? Content, IReadOnlyList<ToolCallDeltaDto>? ToolCalls);

internal sealed record ToolCallDeltaDto(int Index, string Id, FunctionCallOutDto Function)
{
    public string Type => "function";
}

internal sealed record CompletionDto(string Id, long Created, string Model, IReadOnlyList<CompletionChoiceDto> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] UsageDto? Usage)
{
    public string Object => "text_completion";

    public string SystemFingerprint => "hearth";
}

internal sealed record CompletionChoiceDto(int Index, string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] LegacyLogprobsDto? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record LegacyLogprobsDto(IReadOnlyList<string> Tokens, IReadOnlyList<float> TokenLogprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] IReadOnlyList<Dictionary<string, float>>? TopLogprobs, IReadOnlyList<int> TextOffset);

internal sealed record EmbeddingListDto(IReadOnlyList<EmbeddingDto> Data, string Model, EmbeddingUsageDto Usage)
{
    public string Object => "list";
}

internal sealed record EmbeddingDto(int Index, object Embedding)
{
    public string Object => "embedding";
}

internal sealed record EmbeddingUsageDto(int PromptTokens, int TotalTokens);

internal sealed record ModelListDto(IReadOnlyList<ModelDto> Data)
{
    public string Object => "list";
}

internal sealed record ModelDto(string Id, long Created)
{
    public string Object => "model";

    public string OwnedBy => "hearth";
}

/// <summary>One entry of the <c>lora</c> extension field.</summary>
internal sealed class LoraDto
{
    public string? Name { get; set; }

    public double? Scale { get; set; }
}

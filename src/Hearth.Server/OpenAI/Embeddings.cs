using System.Runtime.InteropServices;
using System.Text.Json;
using Hearth.Models;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.OpenAI;

/// <summary><c>POST /v1/embeddings</c>: one string or an array of strings through the model's embedding generator.</summary>
internal static class Embeddings
{
    /// <summary>Most inputs per request (OpenAI's limit).</summary>
    private const int MaxInputs = 2048;

    public static async Task HandleAsync(HttpContext context)
    {
        var dto = await ServerJson.ReadAsync<EmbeddingRequestDto>(context).ConfigureAwait(false);
        var modelName = ModelRequests.RequireModel(dto.Model);
        var inputs = Inputs(dto.Input);
        bool base64 = dto.EncodingFormat switch
        {
            null or "float" => false,
            "base64" => true,
            var f => throw ApiException.BadRequest($"encoding_format '{f}' is not one of float, base64", "encoding_format"),
        };
        var keepAlive = ModelRequests.KeepAlive(dto.KeepAlive);

        using var lease = await ModelRequests.AcquireAsync(context, modelName, keepAlive).ConfigureAwait(false);
        var generator = lease.Model.Embeddings;
        int dimensions = generator.Metadata.DefaultModelDimensions ?? 0;
        if (dto.Dimensions is int d && d != dimensions)
            throw ApiException.BadRequest($"dimensions {d} is not supported: this model's embeddings have {dimensions}", "dimensions");
        Microsoft.Extensions.AI.GeneratedEmbeddings<Microsoft.Extensions.AI.Embedding<float>> result;
        try
        {
            result = await generator.GenerateAsync(inputs, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (ContextOverflowException e)
        {
            throw ApiException.BadRequest($"an input has {e.Tokens} tokens, more than the model's context of {e.Context}", "input", "context_length_exceeded");
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message.Split(" (Parameter '", 2)[0], "input");
        }

        var data = new List<EmbeddingDto>(result.Count);
        for (int i = 0; i < result.Count; i++)
        {
            var vector = result[i].Vector;
            object encoded = base64 ? Convert.ToBase64String(MemoryMarshal.AsBytes(vector.Span)) : vector.ToArray();
            data.Add(new EmbeddingDto(i, encoded));
        }

        int tokens = (int)(result.Usage?.InputTokenCount ?? 0);
        await ServerJson.WriteAsync(context, new EmbeddingListDto(data, modelName, new EmbeddingUsageDto(tokens, tokens))).ConfigureAwait(false);
    }

    private static List<string> Inputs(JsonElement? value)
    {
        if (value is not { } e || e.ValueKind == JsonValueKind.Null) throw ApiException.BadRequest("input is required", "input");
        List<string> inputs;
        if (e.ValueKind == JsonValueKind.String)
        {
            inputs = [e.GetString()!];
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            int count = e.GetArrayLength();
            if (count == 0) throw ApiException.BadRequest("input is an empty array", "input");
            if (count > MaxInputs) throw ApiException.BadRequest($"input has {count} entries; at most {MaxInputs} are allowed", "input");
            inputs = new List<string>(count);
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String) throw ApiException.BadRequest("input must be a string or an array of strings (token arrays are not supported)", "input");
                inputs.Add(item.GetString()!);
            }
        }
        else
        {
            throw ApiException.BadRequest("input must be a string or an array of strings", "input");
        }

        if (inputs.Any(s => s.Length == 0)) throw ApiException.BadRequest("input: an input string is empty", "input");
        return inputs;
    }
}

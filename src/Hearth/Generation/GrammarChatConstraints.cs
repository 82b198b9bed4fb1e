using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Chat.ToolCalls;
using Hearth.Grammar;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Generation;

/// <summary>
/// The chat client's constraints: a JSON response format becomes a JSON-Schema grammar (or any JSON object), offered
/// tools make the answer go through the model's tool-call parser, and a required tool mode forces a well-formed call
/// whose arguments match the tool's schema. Everything is compiled before generation starts.
/// </summary>
public sealed class GrammarChatConstraints : IChatConstraintFactory
{
    public ChatRequest Apply(ChatRequest request, LanguageModel model, Hearth.Chat.ChatTemplate template)
    {
        if (request.Tools.Count > 0)
        {
            var format = ToolCallFormatDetector.ForTemplate(template);
            request = request with { HoldText = true, ToolFormat = format };
            if (request.ToolMode is RequiredChatToolMode required)
            {
                var tools = required.RequiredFunctionName is { } name
                    ? request.Tools.Where(t => t.Name == name).ToList()
                    : request.Tools.ToList();
                if (tools.Count == 0) throw new ArgumentException($"the required tool '{required.RequiredFunctionName}' is not among the offered tools");
                var syntax = ToolCallFormats.Get(format).Syntax ?? throw new NotSupportedException($"the model's tool-call format ({format}) cannot force a call");
                var grammar = ForcedCallGrammar(syntax, tools);
                return request with { Options = request.Options with { Constraint = new GrammarConstraint(grammar, model.TokenVocabulary) } };
            }
        }

        if (request.ResponseFormat is ChatResponseFormatJson json)
        {
            var grammar = json.Schema is { } schema ? JsonSchemaGrammar.FromSchema(JsonNode.Parse(schema.GetRawText())!) : JsonSchemaGrammar.AnyJsonObject;
            return request with { Options = request.Options with { Constraint = new GrammarConstraint(grammar, model.TokenVocabulary) } };
        }

        return request;
    }

    public IEnumerable<AIContent> ToContents(ChatRequest request, string text)
    {
        var parsed = ToolCallParser.Parse(text, request.ToolFormat, new ToolCallParseOptions { Tools = HearthChatClient.ToTemplateTools(request.Tools) });
        if (parsed.Content.Length > 0) yield return new TextContent(parsed.Content);
        foreach (var call in parsed.ToolCalls)
        {
            var args = JsonSerializer.Deserialize<Dictionary<string, object?>>(call.ArgumentsJson);
            var content = new FunctionCallContent(call.Id, call.Name, args) { RawRepresentation = call };
            var tool = request.Tools.FirstOrDefault(t => t.Name == call.Name);
            if (tool == null)
            {
                content.Exception = new InvalidOperationException($"the model called '{call.Name}', which was not offered");
            }
            else
            {
                var errors = JsonSchemaValidator.Validate(call.Arguments, JsonNode.Parse(tool.JsonSchema.GetRawText())!);
                if (errors.Count > 0) content.Exception = new InvalidOperationException($"arguments of '{call.Name}' do not match its schema: {string.Join("; ", errors.Select(e => e.Message))}");
            }

            yield return content;
        }

        foreach (var problem in parsed.Problems) yield return new ErrorContent(problem.Message) { ErrorCode = problem.Kind.ToString() };
    }

    /// <summary>
    /// The grammar of exactly one call to one of <paramref name="tools"/>, in the model's own syntax: the literal text
    /// around the call, the function name, and arguments that satisfy the function's JSON Schema.
    /// </summary>
    public static Grammar.Grammar ForcedCallGrammar(ToolCallSyntax syntax, IReadOnlyList<AIFunctionDeclaration> tools)
    {
        var gbnf = new StringBuilder();
        var alternatives = new List<string>();
        for (int i = 0; i < tools.Count; i++)
        {
            var t = tools[i];
            var parameters = JsonNode.Parse(t.JsonSchema.GetRawText())!;
            string rule = $"call{i}";
            if (syntax.Shape == ToolCallBodyShape.NameThenArguments)
            {
                AppendRenamed(gbnf, JsonSchemaGrammar.ToGbnf(parameters), $"{rule}-args", $"t{i}-");
                gbnf.Append(rule).Append(" ::= ").Append(GbnfWriter.Literal(t.Name + syntax.NameArgumentsSeparator)).Append(' ').Append(rule).Append("-args\n");
            }
            else
            {
                var properties = new JsonObject();
                foreach (var key in syntax.KeyOrder)
                {
                    if (key == syntax.NameKey) properties[key] = new JsonObject { ["const"] = t.Name };
                    else if (key == syntax.ArgumentsKey) properties[key] = parameters.DeepClone();
                    else if (key == syntax.IdKey) properties[key] = new JsonObject { ["type"] = "string", ["pattern"] = "^[a-zA-Z0-9]{9}$" };
                }

                var body = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = properties,
                    ["required"] = new JsonArray(syntax.KeyOrder.Select(k => (JsonNode?)JsonValue.Create(k)).ToArray()),
                    ["additionalProperties"] = false,
                };
                AppendRenamed(gbnf, JsonSchemaGrammar.ToGbnf(body), rule, $"t{i}-");
            }

            alternatives.Add(rule);
        }

        gbnf.Append("root ::= ").Append(GbnfWriter.Literal(syntax.Prefix + syntax.CallPrefix)).Append(" (").Append(string.Join(" | ", alternatives)).Append(") ")
            .Append(GbnfWriter.Literal(syntax.CallSuffix + syntax.Suffix)).Append('\n');
        return Grammar.Grammar.Parse(gbnf.ToString());
    }

    /// <summary>
    /// Appends a generated grammar with every rule name prefixed (so several tools' grammars can live in one file) and
    /// its root renamed to <paramref name="rootName"/>. Names are rewritten outside string literals, classes and comments.
    /// </summary>
    private static void AppendRenamed(StringBuilder output, string gbnf, string rootName, string prefix)
    {
        int i = 0;
        while (i < gbnf.Length)
        {
            char c = gbnf[i];
            if (c == '"' || c == '[')
            {
                char close = c == '"' ? '"' : ']';
                int start = i++;
                while (i < gbnf.Length && gbnf[i] != close) i += gbnf[i] == '\\' ? 2 : 1;
                i = Math.Min(i + 1, gbnf.Length);
                output.Append(gbnf, start, i - start);
            }
            else if (c == '#')
            {
                while (i < gbnf.Length && gbnf[i] != '\n') i++;
            }
            else if (char.IsAsciiLetter(c))
            {
                int start = i;
                while (i < gbnf.Length && (char.IsAsciiLetterOrDigit(gbnf[i]) || gbnf[i] == '-' || gbnf[i] == '_')) i++;
                var name = gbnf[start..i];
                output.Append(name == "root" ? rootName : prefix + name);
            }
            else
            {
                output.Append(c);
                i++;
            }
        }

        output.Append('\n');
    }
}

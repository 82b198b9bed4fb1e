namespace Hearth.Grammar;

/// <summary>
/// A grammar flattened for the matcher, as llama.cpp lays it out: one element array in which every alternative of
/// every rule is a run of elements ending with <see cref="KindEnd"/>. A <see cref="KindChar"/> element matches one
/// code point from a <see cref="CharSet"/>; a <see cref="KindRef"/> element expands a rule. Repetitions and groups of
/// the source are expanded into helper rules (<c>x*</c> becomes <c>x_1 ::= x x_1 |</c>, <c>x{0,n}</c> a chain of n
/// nested optional rules), so every rule is plain alternation of sequences. Immutable.
/// </summary>
internal sealed class CompiledGrammar
{
    public const byte KindEnd = 0;
    public const byte KindChar = 1;
    public const byte KindRef = 2;

    /// <summary>Most elements a grammar may expand to (bounded repetitions copy their item).</summary>
    public const int MaxElements = 2_000_000;

    public CompiledGrammar(byte[] kinds, int[] args, CharSet[] classes, int[][] ruleStarts, string[] ruleNames, int root)
    {
        Kinds = kinds;
        Args = args;
        Classes = classes;
        RuleStarts = ruleStarts;
        RuleNames = ruleNames;
        Root = root;
    }

    /// <summary>Element kinds.</summary>
    public byte[] Kinds { get; }

    /// <summary>For a char element, the index into <see cref="Classes"/>; for a reference, the rule index.</summary>
    public int[] Args { get; }

    public CharSet[] Classes { get; }

    /// <summary>For each rule, the element index where each alternative starts.</summary>
    public int[][] RuleStarts { get; }

    public string[] RuleNames { get; }

    public int Root { get; }

    /// <summary>
    /// Expands and flattens parsed rules. Throws <see cref="GrammarException"/> for a rule defined twice, a reference
    /// to an undefined rule (with its line and column), a missing <c>root</c>, a root that can never be completed,
    /// left recursion, or a grammar too large after expanding repetitions.
    /// </summary>
    public static CompiledGrammar Compile(IReadOnlyList<GbnfRule> rules, string rootName = "root")
    {
        return new Builder(rules).Build(rootName);
    }

    private sealed class Builder
    {
        private readonly IReadOnlyList<GbnfRule> _source;
        private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
        private readonly List<string> _names = [];
        private readonly List<(int Line, int Column)> _origins = [];
        private readonly List<int> _sourceRule = [];
        private readonly List<List<List<(byte Kind, int Arg)>>?> _rules = [];
        private readonly Dictionary<CharSet, int> _classIds = [];
        private readonly List<CharSet> _classes = [];
        private int _elementCount;

        public Builder(IReadOnlyList<GbnfRule> source) => _source = source;

        public CompiledGrammar Build(string rootName)
        {
            if (_source.Count == 0) throw new GrammarException("the grammar is empty: it defines no rules (it needs at least a 'root' rule)");
            foreach (var rule in _source)
            {
                if (_ids.TryGetValue(rule.Name, out int existing))
                {
                    var (l, c) = _origins[existing];
                    throw new GrammarException($"rule '{rule.Name}' is defined twice (first at line {l}, column {c})", rule.Line, rule.Column);
                }

                _ids[rule.Name] = _names.Count;
                _names.Add(rule.Name);
                _origins.Add((rule.Line, rule.Column));
                _sourceRule.Add(_names.Count - 1);
                _rules.Add(null);
            }

            foreach (var rule in _source)
            {
                foreach (var alternative in rule.Alternatives) CheckReferences(alternative);
            }

            if (!_ids.TryGetValue(rootName, out int root)) throw new GrammarException($"the grammar has no '{rootName}' rule, where matching starts");

            foreach (var rule in _source)
            {
                int id = _ids[rule.Name];
                _rules[id] = rule.Alternatives.Select(a => EmitSequence(a, id)).ToList();
            }

            // Flatten.
            var kinds = new List<byte>(_elementCount + _rules.Count * 2);
            var args = new List<int>(kinds.Capacity);
            var starts = new int[_rules.Count][];
            for (int r = 0; r < _rules.Count; r++)
            {
                var alternatives = _rules[r]!;
                starts[r] = new int[alternatives.Count];
                for (int a = 0; a < alternatives.Count; a++)
                {
                    starts[r][a] = kinds.Count;
                    foreach (var (kind, arg) in alternatives[a])
                    {
                        kinds.Add(kind);
                        args.Add(arg);
                    }

                    kinds.Add(KindEnd);
                    args.Add(0);
                }
            }

            var grammar = new CompiledGrammar(kinds.ToArray(), args.ToArray(), _classes.ToArray(), starts, _names.ToArray(), root);
            CheckLeftRecursion(grammar);
            CheckProductive(grammar);
            return grammar;
        }

        private void CheckReferences(List<GbnfExpr> sequence)
        {
            foreach (var expr in sequence) CheckReferences(expr);
        }

        private void CheckReferences(GbnfExpr expr)
        {
            switch (expr)
            {
                case GbnfRef reference when !_ids.ContainsKey(reference.Name):
                    throw new GrammarException($"undefined rule '{reference.Name}'", reference.Line, reference.Column);
                case GbnfGroup group:
                    foreach (var alternative in group.Alternatives) CheckReferences(alternative);
                    break;
                case GbnfRepeat repeat:
                    CheckReferences(repeat.Item);
                    break;
            }
        }

        private int NewRule(int origin)
        {
            int id = _names.Count;
            _names.Add($"{_names[origin]}_{id}");
            _origins.Add(_origins[origin]);
            _sourceRule.Add(_sourceRule[origin]);
            _rules.Add(null);
            return id;
        }

        private int ClassId(CharSet set)
        {
            if (!_classIds.TryGetValue(set, out int id))
            {
                id = _classes.Count;
                _classes.Add(set);
                _classIds[set] = id;
            }

            return id;
        }

        private void Count(int n, GbnfExpr at)
        {
            _elementCount += n;
            if (_elementCount > MaxElements)
            {
                throw new GrammarException($"the grammar is too large after expanding repetitions (more than {MaxElements} elements)", at.Line, at.Column);
            }
        }

        private List<(byte, int)> EmitSequence(List<GbnfExpr> sequence, int origin)
        {
            var output = new List<(byte, int)>();
            foreach (var expr in sequence) Emit(expr, origin, output);
            return output;
        }

        private void Emit(GbnfExpr expr, int origin, List<(byte, int)> output)
        {
            switch (expr)
            {
                case GbnfLiteral literal:
                    Count(literal.CodePoints.Length, expr);
                    foreach (int cp in literal.CodePoints) output.Add((KindChar, ClassId(CharSet.Single(cp))));
                    break;
                case GbnfClass cls:
                    Count(1, expr);
                    output.Add((KindChar, ClassId(cls.ToCharSet())));
                    break;
                case GbnfAny:
                    Count(1, expr);
                    output.Add((KindChar, ClassId(CharSet.All)));
                    break;
                case GbnfRef reference:
                    Count(1, expr);
                    output.Add((KindRef, _ids[reference.Name]));
                    break;
                case GbnfGroup group when group.Alternatives.Count == 1:
                    foreach (var item in group.Alternatives[0]) Emit(item, origin, output);
                    break;
                case GbnfGroup group:
                {
                    int id = NewRule(origin);
                    _rules[id] = group.Alternatives.Select(a => EmitSequence(a, origin)).ToList();
                    Count(1, expr);
                    output.Add((KindRef, id));
                    break;
                }

                case GbnfRepeat repeat:
                    EmitRepeat(repeat, origin, output);
                    break;
                default:
                    throw new InvalidOperationException($"unknown GBNF node {expr.GetType().Name}");
            }
        }

        private void EmitRepeat(GbnfRepeat repeat, int origin, List<(byte, int)> output)
        {
            var item = new List<(byte, int)>();
            Emit(repeat.Item, origin, item);
            int copies = repeat.Min + (repeat.Max is null || repeat.Max > repeat.Min ? 1 : 0);
            if (item.Count > 1 && copies > 1)
            {
                // Share a multi-element item through one helper rule instead of copying it many times.
                int shared = NewRule(origin);
                _rules[shared] = [item];
                item = [(KindRef, shared)];
                Count(1, repeat);
            }

            // x{m,...}: m copies inline (checked first, so that a huge count fails at once).
            Count((int)Math.Min((long)item.Count * repeat.Min, int.MaxValue / 2), repeat);
            _elementCount -= (int)Math.Min((long)item.Count * repeat.Min, int.MaxValue / 2);
            for (int i = 0; i < repeat.Min; i++)
            {
                Count(item.Count, repeat);
                output.AddRange(item);
            }

            if (repeat.Max is null)
            {
                // x_r ::= x x_r |
                int r = NewRule(origin);
                var loop = new List<(byte, int)>(item) { (KindRef, r) };
                Count(item.Count + 2, repeat);
                _rules[r] = [loop, []];
                output.Add((KindRef, r));
            }
            else if (repeat.Max > repeat.Min)
            {
                // x_1 ::= x | ; x_k ::= x x_(k-1) | : up to n - m more items, one nested optional each.
                int previous = -1;
                for (int k = 0; k < repeat.Max - repeat.Min; k++)
                {
                    int r = NewRule(origin);
                    var body = new List<(byte, int)>(item);
                    if (previous >= 0) body.Add((KindRef, previous));
                    Count(body.Count + 2, repeat);
                    _rules[r] = [body, []];
                    previous = r;
                }

                output.Add((KindRef, previous));
            }
        }

        /// <summary>
        /// Rejects left recursion that would make the pushdown stack grow without consuming input: a rule reachable
        /// from itself through leftmost references (after nullable prefixes) where some reference on the cycle is not
        /// the last element of its alternative. Cycles made only of tail references (as <c>(x?)*</c> produces) do not
        /// grow the stack and are cut by the matcher's visited set.
        /// </summary>
        private void CheckLeftRecursion(CompiledGrammar g)
        {
            int n = g.RuleStarts.Length;
            var nullable = Nullable(g);
            var edges = new List<(int To, bool Grows)>[n];
            for (int r = 0; r < n; r++)
            {
                edges[r] = [];
                foreach (int start in g.RuleStarts[r])
                {
                    for (int p = start; g.Kinds[p] != KindEnd; p++)
                    {
                        if (g.Kinds[p] == KindChar) break;
                        int target = g.Args[p];
                        edges[r].Add((target, g.Kinds[p + 1] != KindEnd));
                        if (!nullable[target]) break;
                    }
                }
            }

            var component = StronglyConnectedComponents(n, edges);
            for (int r = 0; r < n; r++)
            {
                foreach (var (to, grows) in edges[r])
                {
                    if (grows && component[to] == component[r])
                    {
                        var (line, column) = _origins[r];
                        string source = _names[_sourceRule[r]];
                        throw new GrammarException($"rule '{source}' is left-recursive (it can reach itself without consuming a character, which would loop forever)", line, column);
                    }
                }
            }
        }

        private static bool[] Nullable(CompiledGrammar g)
        {
            int n = g.RuleStarts.Length;
            var nullable = new bool[n];
            bool changed = true;
            while (changed)
            {
                changed = false;
                for (int r = 0; r < n; r++)
                {
                    if (nullable[r]) continue;
                    foreach (int start in g.RuleStarts[r])
                    {
                        bool all = true;
                        for (int p = start; g.Kinds[p] != KindEnd; p++)
                        {
                            if (g.Kinds[p] == KindChar || !nullable[g.Args[p]])
                            {
                                all = false;
                                break;
                            }
                        }

                        if (all)
                        {
                            nullable[r] = true;
                            changed = true;
                            break;
                        }
                    }
                }
            }

            return nullable;
        }

        /// <summary>Rejects a root rule that no finite text completes (e.g. <c>root ::= "x" root</c>).</summary>
        private void CheckProductive(CompiledGrammar g)
        {
            int n = g.RuleStarts.Length;
            var productive = new bool[n];
            bool changed = true;
            while (changed)
            {
                changed = false;
                for (int r = 0; r < n; r++)
                {
                    if (productive[r]) continue;
                    foreach (int start in g.RuleStarts[r])
                    {
                        bool all = true;
                        for (int p = start; g.Kinds[p] != KindEnd; p++)
                        {
                            if (g.Kinds[p] == KindChar ? g.Classes[g.Args[p]].IsEmpty : !productive[g.Args[p]])
                            {
                                all = false;
                                break;
                            }
                        }

                        if (all)
                        {
                            productive[r] = true;
                            changed = true;
                            break;
                        }
                    }
                }
            }

            if (!productive[g.Root])
            {
                var (line, column) = _origins[g.Root];
                throw new GrammarException($"rule '{g.RuleNames[g.Root]}' can never be completed: every alternative needs itself (or another endless rule) again", line, column);
            }
        }

        private static int[] StronglyConnectedComponents(int n, List<(int To, bool Grows)>[] edges)
        {
            // Iterative Tarjan.
            var index = new int[n];
            var low = new int[n];
            var onStack = new bool[n];
            var component = new int[n];
            Array.Fill(index, -1);
            var stack = new Stack<int>();
            var call = new Stack<(int Node, int Edge)>();
            int counter = 0, components = 0;
            for (int s = 0; s < n; s++)
            {
                if (index[s] >= 0) continue;
                call.Push((s, 0));
                index[s] = low[s] = counter++;
                stack.Push(s);
                onStack[s] = true;
                while (call.Count > 0)
                {
                    var (v, e) = call.Pop();
                    if (e < edges[v].Count)
                    {
                        call.Push((v, e + 1));
                        int w = edges[v][e].To;
                        if (index[w] < 0)
                        {
                            index[w] = low[w] = counter++;
                            stack.Push(w);
                            onStack[w] = true;
                            call.Push((w, 0));
                        }
                        else if (onStack[w])
                        {
                            low[v] = Math.Min(low[v], index[w]);
                        }

                        continue;
                    }

                    if (low[v] == index[v])
                    {
                        int w;
                        do
                        {
                            w = stack.Pop();
                            onStack[w] = false;
                            component[w] = components;
                        }
                        while (w != v);
                        components++;
                    }

                    if (call.Count > 0)
                    {
                        int parent = call.Peek().Node;
                        low[parent] = Math.Min(low[parent], low[v]);
                    }
                }
            }

            return component;
        }
    }
}

using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;
using GraphQLParser.Visitors;

namespace CacheProxy.GraphQL;

/// <summary>The operation a GraphQL document asks for, in a canonical spelling: what its cache key is made of.</summary>
/// <param name="Canonical">The operation and the fragments it uses, printed after the reordering the spec allows.</param>
/// <param name="Type">Query, mutation or subscription.</param>
/// <param name="Name">The operation's name, or null for an anonymous one.</param>
internal sealed record NormalizedOperation(string Canonical, OperationType Type, string? Name);

/// <summary>
/// Parses a GraphQL document (GraphQL-Parser) and prints the operation a request selects in one spelling for every
/// spelling of it: whitespace, commas and comments go (the printer writes from the syntax tree); arguments, the fields
/// of input objects and variable definitions are sorted by name, which the spec leaves unordered (§2.6 "Arguments
/// are unordered", §2.9.8 input object fields); fragments the operation does not use and other operations are left
/// out, and the ones it uses are printed sorted by name. Selection sets keep their order: the response's fields
/// follow it (§7.2.2), so two orders are two different responses.
/// </summary>
internal static class GraphQLDocuments
{
    private static readonly ParserOptions Options = new() { Ignore = IgnoreOptions.All, MaxDepth = 64 };
    private static readonly SDLPrinter Printer = new(new SDLPrinterOptions { PrintComments = false, PrintDescriptions = false });

    /// <summary>The normalized operation, or null and why the document cannot be cached (it then goes to the origin, which answers the error).</summary>
    public static NormalizedOperation? Normalize(string query, string? operationName, out string? error)
    {
        error = null;
        GraphQLDocument document;
        try
        {
            document = Parser.Parse(query, Options);
        }
        catch (GraphQLParserException ex)
        {
            error = $"the query does not parse: {ex.Description}";
            return null;
        }
        var operation = Select(document, operationName, out error);
        if (operation is null)
        {
            return null;
        }
        var fragments = new SortedDictionary<string, GraphQLFragmentDefinition>(StringComparer.Ordinal);
        if (!CollectFragments(document, operation.SelectionSet, fragments, out error))
        {
            return null;
        }
        Sort(operation);
        foreach (var fragment in fragments.Values)
        {
            Sort(fragment);
        }
        var canonical = new GraphQLDocument([operation, .. fragments.Values]);
        return new NormalizedOperation(Printer.Print(canonical), operation.Operation, operation.Name?.StringValue);
    }

    private static GraphQLOperationDefinition? Select(GraphQLDocument document, string? operationName, out string? error)
    {
        error = null;
        GraphQLOperationDefinition? found = null;
        var count = 0;
        foreach (var definition in document.Definitions)
        {
            if (definition is not GraphQLOperationDefinition operation)
            {
                if (definition is not GraphQLFragmentDefinition)
                {
                    error = "the document holds a type system definition";
                    return null;
                }
                continue;
            }
            count++;
            if (operationName is null ? count == 1 : operation.Name is { } name && name.StringValue == operationName)
            {
                found = operation;
            }
        }
        if (operationName is null && count > 1)
        {
            error = "the document holds several operations and the request names none";
            return null;
        }
        if (found is null)
        {
            error = operationName is null ? "the document holds no operation" : $"the document holds no operation named {operationName}";
        }
        return found;
    }

    /// <summary>The fragments a selection set uses, transitively; false when one is not defined.</summary>
    private static bool CollectFragments(GraphQLDocument document, GraphQLSelectionSet? set, SortedDictionary<string, GraphQLFragmentDefinition> found,
        out string? error)
    {
        error = null;
        if (set is null)
        {
            return true;
        }
        foreach (var selection in set.Selections)
        {
            switch (selection)
            {
                case GraphQLField field when !CollectFragments(document, field.SelectionSet, found, out error):
                    return false;
                case GraphQLInlineFragment inline when !CollectFragments(document, inline.SelectionSet, found, out error):
                    return false;
                case GraphQLFragmentSpread spread:
                    var name = spread.FragmentName.Name.StringValue;
                    if (found.ContainsKey(name))
                    {
                        break;
                    }
                    if (document.FindFragmentDefinition(spread.FragmentName.Name.Value) is not { } definition)
                    {
                        error = $"the fragment {name} is not defined";
                        return false;
                    }
                    found[name] = definition;
                    if (!CollectFragments(document, definition.SelectionSet, found, out error))
                    {
                        return false;
                    }
                    break;
            }
        }
        return true;
    }

    private static void Sort(GraphQLOperationDefinition operation)
    {
        operation.Variables?.Items.Sort((a, b) => string.CompareOrdinal(a.Variable.Name.StringValue, b.Variable.Name.StringValue));
        foreach (var variable in operation.Variables?.Items ?? [])
        {
            Sort(variable.DefaultValue);
            Sort(variable.Directives);
        }
        Sort(operation.Directives);
        Sort(operation.SelectionSet);
    }

    private static void Sort(GraphQLFragmentDefinition fragment)
    {
        Sort(fragment.Directives);
        Sort(fragment.SelectionSet);
    }

    private static void Sort(GraphQLSelectionSet? set)
    {
        foreach (var selection in set?.Selections ?? [])
        {
            switch (selection)
            {
                case GraphQLField field:
                    Sort(field.Arguments);
                    Sort(field.Directives);
                    Sort(field.SelectionSet);
                    break;
                case GraphQLInlineFragment inline:
                    Sort(inline.Directives);
                    Sort(inline.SelectionSet);
                    break;
                case GraphQLFragmentSpread spread:
                    Sort(spread.Directives);
                    break;
            }
        }
    }

    // Directives keep their order (it is significant, §2.12); their arguments are unordered.
    private static void Sort(GraphQLDirectives? directives)
    {
        foreach (var directive in directives?.Items ?? [])
        {
            Sort(directive.Arguments);
        }
    }

    private static void Sort(GraphQLArguments? arguments)
    {
        if (arguments is null)
        {
            return;
        }
        arguments.Items.Sort((a, b) => string.CompareOrdinal(a.Name.StringValue, b.Name.StringValue));
        foreach (var argument in arguments.Items)
        {
            Sort(argument.Value);
        }
    }

    private static void Sort(GraphQLValue? value)
    {
        switch (value)
        {
            case GraphQLObjectValue { Fields: { } fields }:
                fields.Sort((a, b) => string.CompareOrdinal(a.Name.StringValue, b.Name.StringValue));
                foreach (var field in fields)
                {
                    Sort(field.Value);
                }
                break;
            case GraphQLListValue { Values: { } values }:
                foreach (var item in values)
                {
                    Sort(item);
                }
                break;
        }
    }
}

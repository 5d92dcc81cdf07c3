using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace EventStream.Cli;

/// <summary>
/// The pieces of the <c>eventstream</c> command line that System.CommandLine does not decide for us: every option takes
/// its value as text (each command checks the value and says what is wrong with it), and a parse error becomes one line
/// that names every problem, with System.CommandLine's typo suggestions, so that it can end in exit code 2.
/// </summary>
internal static partial class CommandLineSyntax
{
    /// <summary>The commands, in the order the errors name them.</summary>
    public const string CommandNames = "'window', 'worker', 'produce' and 'results'";

    /// <summary>An option that takes one value, kept as text; an empty value, or another option where the value should be, is refused.</summary>
    public static Option<string> Value(string name, string helpName, string description, bool required = false)
    {
        var option = new Option<string>(name) { HelpName = helpName, Description = description, Required = required };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && (result.Tokens[0].Value.Length == 0 || result.Tokens[0].Value.StartsWith("--", StringComparison.Ordinal)))
            {
                result.AddError($"{name} needs a value");
            }
        });
        return option;
    }

    /// <summary>The value of an option that may be left out, or <see langword="null"/>.</summary>
    public static string? Optional(this ParseResult parse, Option<string> option) => parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option) : null;

    /// <summary>The value of a required option (the parse has no errors, so it is there).</summary>
    public static string Required(this ParseResult parse, Option<string> option) => parse.GetRequiredValue(option);

    /// <summary>
    /// The one line that reports a failed parse: every unknown option (with the suggestion System.CommandLine makes for
    /// it), unexpected argument, repeated or valueless option, and the missing required options together.
    /// </summary>
    public static string ErrorLine(ParseResult parse, IReadOnlyList<string> args)
    {
        var suggestions = TypoSuggestions(parse);
        var command = parse.CommandResult.Command;
        if (command is RootCommand)
        {
            if (args.Count == 0)
            {
                return "eventstream: missing command; usage: eventstream window|worker|produce|results --input PATH ... (eventstream window --help)";
            }

            return $"eventstream: unknown command '{args[0]}'{DidYouMean(suggestions, args[0])}; the commands are {CommandNames} (eventstream --help)";
        }

        var problems = new List<string>();
        var afterUnknownOption = false;
        foreach (var token in parse.UnmatchedTokens)
        {
            if (token.Length > 1 && token[0] == '-')
            {
                var equals = token.IndexOf('=', StringComparison.Ordinal);
                problems.Add($"unknown option '{(equals > 0 ? token[..equals] : token)}'{DidYouMean(suggestions, token)}");
                afterUnknownOption = equals < 0;
            }
            else if (afterUnknownOption)
            {
                afterUnknownOption = false; // the unknown option's value
            }
            else
            {
                problems.Add($"unexpected argument '{token}'");
            }
        }

        var missing = new List<Option>();
        foreach (var error in parse.Errors)
        {
            switch (error.SymbolResult)
            {
                case OptionResult { IdentifierTokenCount: 0 } o:
                    missing.Add(o.Option);
                    break;
                case OptionResult { IdentifierTokenCount: > 1 } o:
                    problems.Add($"{o.Option.Name} is given more than once");
                    break;
                case OptionResult { Tokens.Count: 0 } o:
                    problems.Add($"{o.Option.Name} needs a value");
                    break;
                case OptionResult:
                    problems.Add(error.Message);
                    break;
                default:
                    // The command's own errors are the unmatched tokens named above; any other is passed on as it is.
                    if (parse.UnmatchedTokens.Count == 0)
                    {
                        problems.Add(error.Message);
                    }

                    break;
            }
        }

        if (missing.Count > 0)
        {
            var names = command.Options.Where(missing.Contains).Select(o => o.Name).ToList();
            problems.Add($"missing required option{(names.Count > 1 ? "s" : "")} {string.Join(", ", names)}");
        }

        var name = command.Name;
        return $"eventstream {name}: {string.Join("; ", problems.Distinct())} (eventstream {name} --help)";
    }

    private static string DidYouMean(Dictionary<string, List<string>> suggestions, string token) =>
        suggestions.TryGetValue(token, out var names) && names.Count > 0 ? $" (did you mean {string.Join(" or ", names)}?)" : "";

    /// <summary>
    /// System.CommandLine's typo suggestions for the unmatched tokens: it offers them only as the text its parse-error
    /// action writes, so the action writes to a string, in the invariant culture, and the suggestions are read back.
    /// </summary>
    private static Dictionary<string, List<string>> TypoSuggestions(ParseResult parse)
    {
        var suggestions = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (parse.Action is not ParseErrorAction action || parse.UnmatchedTokens.Count == 0)
        {
            return suggestions;
        }

        action.ShowHelp = false;
        action.ShowTypoCorrections = true;
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        var culture = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
        try
        {
            parse.Invoke(new InvocationConfiguration { Output = text, Error = text, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
        }
        finally
        {
            CultureInfo.CurrentUICulture = culture;
        }

        List<string>? current = null;
        foreach (var line in text.ToString().Split('\n', StringSplitOptions.TrimEntries))
        {
            if (NotMatched().Match(line) is { Success: true } m)
            {
                current = [];
                suggestions[m.Groups[1].Value] = current;
            }
            else if (line.Length == 0)
            {
                current = null;
            }
            else
            {
                current?.Add(line);
            }
        }

        return suggestions;
    }

    [GeneratedRegex(@"^'(.*)' was not matched\. Did you mean one of the following\?$")]
    private static partial Regex NotMatched();
}

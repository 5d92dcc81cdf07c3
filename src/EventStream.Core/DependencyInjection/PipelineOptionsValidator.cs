using Microsoft.Extensions.Options;

namespace EventStream.DependencyInjection;

/// <summary>Validates <see cref="PipelineOptions"/> at start-up, reporting every problem at once.</summary>
internal sealed class PipelineOptionsValidator : IValidateOptions<PipelineOptions>
{
    public ValidateOptionsResult Validate(string? name, PipelineOptions options)
    {
        var problems = options.Validate().Select(p => $"Event pipeline '{name}': {p}").ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

namespace Regatta.Dashboard.Actions;

/// <summary>What an operator's action came to, in words the page can show.</summary>
public sealed record ActionOutcome(bool Succeeded, string Message, IReadOnlyList<string> Errors)
{
    public static ActionOutcome Done(string message) => new(true, message, []);
    public static ActionOutcome Refused(string message, IReadOnlyList<string>? errors = null) => new(false, message, errors ?? []);
}

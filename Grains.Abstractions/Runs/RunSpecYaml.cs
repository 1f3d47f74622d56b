using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Regatta.Runs;

/// <summary>
/// The run spec's YAML form (camelCase keys, durations as "30s", "2m", "500ms" or seconds). It is the wire format of
/// the spec, shared by every client; unknown keys and wrong types are errors that name their line and path.
/// </summary>
public static class RunSpecYaml
{
    private static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithTypeConverter(new DurationConverter())
        .WithTypeConverter(new EnumConverter())
        .Build();

    private static readonly ISerializer Writer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithTypeConverter(new DurationConverter())
        .WithTypeConverter(new EnumConverter())
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .Build();

    public const int MaxLength = 64 * 1024;

    /// <summary>Parses a spec; throws RunSpecException whose error names the line and what is wrong.</summary>
    public static RunSpec Parse(string yaml)
    {
        if (yaml.Length > MaxLength) throw new RunSpecException([$"spec: larger than {MaxLength} characters"]);
        if (string.IsNullOrWhiteSpace(yaml)) throw new RunSpecException(["spec: empty"]);
        try
        {
            return Reader.Deserialize<RunSpec>(yaml) ?? throw new RunSpecException(["spec: empty"]);
        }
        catch (YamlException e)
        {
            var message = (e.InnerException?.Message ?? e.Message).Replace("Property '", "unknown field '", StringComparison.Ordinal);
            throw new RunSpecException([$"line {e.Start.Line}, column {e.Start.Column}: {message}"]);
        }
    }

    public static string Write(RunSpec spec) => Writer.Serialize(spec);

    /// <summary>"90s", "2m", "1h", "250ms", or a plain number of seconds.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ when text.EndsWith('h') => (text[..^1], 3600),
            _ => (text, 1),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || Math.Abs(value * scale) > 1e7)
            throw new FormatException($"'{text}' is not a duration (use e.g. 30s, 2m, 500ms)");
        return TimeSpan.FromSeconds(value * scale);
    }

    private static string FormatDuration(TimeSpan t) =>
        t.TotalSeconds == Math.Floor(t.TotalSeconds) ? $"{t.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s" : $"{t.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";

    private sealed class DurationConverter : IYamlTypeConverter
    {
        public bool Accepts(Type type) => type == typeof(TimeSpan);

        public object ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer)
        {
            var scalar = parser.Consume<Scalar>();
            try { return ParseDuration(scalar.Value); }
            catch (FormatException e) { throw new YamlException(scalar.Start, scalar.End, e.Message); }
        }

        public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
            emitter.Emit(new Scalar(FormatDuration((TimeSpan)value!)));
    }

    /// <summary>Enum values in any case ("fedAvg", "FedAvg", "randomK"); unknown ones list the choices.</summary>
    private sealed class EnumConverter : IYamlTypeConverter
    {
        public bool Accepts(Type type) => type.IsEnum;

        public object ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer)
        {
            var scalar = parser.Consume<Scalar>();
            if (Enum.TryParse(type, scalar.Value, ignoreCase: true, out var value) && Enum.IsDefined(type, value!) && !int.TryParse(scalar.Value, out _))
                return value!;
            throw new YamlException(scalar.Start, scalar.End,
                $"'{scalar.Value}' is not one of {string.Join(", ", Enum.GetNames(type).Select(n => char.ToLowerInvariant(n[0]) + n[1..]))}");
        }

        public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer)
        {
            var name = value!.ToString()!;
            emitter.Emit(new Scalar(char.ToLowerInvariant(name[0]) + name[1..]));
        }
    }
}

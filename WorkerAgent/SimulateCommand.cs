using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Regatta.WorkerAgent;

/// <summary>
/// <c>simulate --run ID --clients N</c>: N virtual clients of one run in this process (<see cref="Simulation"/>), while
/// the run is watched through the REST API like <c>watch</c>; when it ends, every client unregisters and the command
/// exits with watch's code.
/// </summary>
public static class SimulateCommand
{
    /// <param name="connection">The agent's own connection flags (gateways, TLS, device, heartbeat, cache), shared with it.</param>
    /// <param name="agentOptions">Reads the connection flags into options, throwing ArgumentException naming a bad one.</param>
    /// <param name="operatorOptions">--api and --api-key-file.</param>
    public static Command Create(IEnumerable<Option> connection, Func<ParseResult, AgentOptions> agentOptions, IEnumerable<Option> operatorOptions,
        Func<ParseResult, (Uri Api, AdminKey? Key)> api)
    {
        var run = new Option<string>("--run") { Description = "Run id the clients join", Required = true };
        var clients = new Option<int>("--clients") { Description = $"Virtual clients, 1 to {SimulationOptions.MaxClients}", Required = true };
        var concurrency = new Option<int>("--concurrency")
        {
            Description = "Clients computing at once (default: the CPU cores)", DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var prefix = new Option<string>("--prefix") { Description = "Worker ids are PREFIX-0001, PREFIX-0002, ...", DefaultValueFactory = _ => "sim" };
        var command = new Command("simulate", "Run N virtual clients of a run in this process (one Orleans client, one TorchSharp runtime), " +
                                              "printing the run's rounds until it ends") { run, clients, concurrency, prefix };
        foreach (var option in connection.Concat(operatorOptions)) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            AgentOptions template;
            SimulationOptions simulation;
            (Uri Api, AdminKey? Key) operatorApi;
            try
            {
                template = agentOptions(parse);
                simulation = new SimulationOptions
                {
                    RunId = parse.GetValue(run)!,
                    Clients = parse.GetValue(clients),
                    Concurrency = parse.GetValue(concurrency),
                    Prefix = parse.GetValue(prefix)!,
                };
                if (simulation.Problem() is { } problem) throw new ArgumentException(problem);
                operatorApi = api(parse);
            }
            catch (Exception e) when (e is ArgumentException or RegattaException)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            // One intra-op thread per computing client: the concurrency is the parallelism.
            TorchSharp.torch.set_num_threads(1);
            using var host = AgentHost.Build(template, logging => logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
                .AddFilter("agent.", LogLevel.Warning));
            await host.StartAsync(ct);
            var watched = 1;
            try
            {
                await Simulation.RunAsync(template, simulation, host.Services.GetRequiredService<IClusterClient>(),
                    host.Services.GetRequiredService<ILoggerFactory>(),
                    async token => watched = await RunCommands.WatchAsync(operatorApi.Api, operatorApi.Key, simulation.RunId, Console.Out, Console.Error, token),
                    ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            finally
            {
                await host.StopAsync(CancellationToken.None);
            }
            return watched;
        });
        return command;
    }
}

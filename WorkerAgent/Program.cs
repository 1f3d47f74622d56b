using System.CommandLine;
using Regatta;
using Regatta.WorkerAgent;

var coordinator = new Option<string?>("--coordinator") { Description = "Static gateways of the cluster, host:port[,host:port...] (default: localhost:30000 unless --gateways-url)" };
var gatewaysUrl = new Option<string?>("--gateways-url") { Description = "Silo URL(s), URL[,URL...], whose GET /api/cluster/gateways lists the live gateways, read again periodically; default: env REGATTA_GATEWAYS_URL" };
var gatewaysRefresh = new Option<double>("--gateways-refresh") { Description = "Seconds between reads of --gateways-url", DefaultValueFactory = _ => 30 };
var clusterId = new Option<string?>("--cluster-id") { Description = "The silos' Regatta:ClusterId (default: env REGATTA_CLUSTER_ID, else regatta)" };
var serviceId = new Option<string?>("--service-id") { Description = "The silos' Regatta:ServiceId (default: env REGATTA_SERVICE_ID, else regatta)" };
var name = new Option<string>("--name") { Description = "Name shown to operators", DefaultValueFactory = _ => Environment.MachineName };
var id = new Option<string?>("--id") { Description = "Stable worker id (default: the name)" };
var device = new Option<string>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
var data = new Option<string?>("--data") { Description = "Local data (csv:PATH, idx:IMAGES,LABELS, text:PATH) or a generator name; default: the run spec's" };
var token = new Option<string?>("--join-token") { Description = "The run's join token: approves this worker without an operator" };
var run = new Option<string?>("--run") { Description = "Run id to join once approved" };
var heartbeat = new Option<double>("--heartbeat") { Description = "Heartbeat interval in seconds", DefaultValueFactory = _ => 5 };
var cache = new Option<string?>("--cache-dir") { Description = "Model cache directory (default: ~/.cache/regatta/<id>)" };
var poison = new Option<string?>("--poison") { Description = "Fault injection: send nan or huge updates (for testing robust aggregation)" };
poison.AcceptOnlyFromAmong("nan", "huge");
var serveMemory = new Option<double?>("--serve-memory-mb") { Description = "Memory offered for serving model blocks, in MiB (default: 512 on a CPU, 80% of the VRAM on a GPU; 0 serves nothing)" };
var sessionMemory = new Option<double?>("--session-memory-mb") { Description = "Memory for the key/value caches of inference sessions, in MiB (default: 256); a full agent refuses new sessions" };
var blobUrl = new Option<string?>("--blob-url") { Description = "Blob data plane URL for weights (default: what the cluster advertises; 'grain' = grain calls only)" };
var serveDelay = new Option<int>("--serve-delay-ms") { Description = "Fault injection: extra milliseconds every inference hop takes on this agent", DefaultValueFactory = _ => 0 };
var siloSha256 = new Option<string?>("--silo-cert-sha256") { Description = "Pin the silo's TLS certificate by its SHA-256 (64 hex digits, colons allowed), e.g. a local silo's self-signed one" };
var siloSha256File = new Option<string?>("--silo-cert-sha256-file") { Description = "Read the pin from a file (a local silo writes {DataDir}/silo-cert.sha256)" };
var siloCa = new Option<string?>("--silo-ca") { Description = "PEM bundle of the CA(s) that issued the silo's TLS certificate (default: the system trust store)" };
var siloTlsName = new Option<string?>("--silo-tls-name") { Description = "Name the silo's TLS certificate must carry (default: the host of --coordinator)" };
Option[] tls = [siloSha256, siloSha256File, siloCa, siloTlsName];

// The TLS flags onto a client's options, checked here so a bad value is a clear message and exit code 2.
AgentOptions WithSiloTrust(ParseResult parse, AgentOptions options)
{
    var sha256 = parse.GetValue(siloSha256);
    var file = parse.GetValue(siloSha256File);
    if (sha256 is not null && file is not null) throw new ArgumentException("--silo-cert-sha256 and --silo-cert-sha256-file: give one of them");
    if (file is not null) sha256 = SiloTrust.ReadSha256File(file);
    options = options with { SiloCertSha256 = sha256, SiloCa = parse.GetValue(siloCa), SiloTlsName = parse.GetValue(siloTlsName) };
    if (file is not null) SiloTrust.ParseSha256(sha256!, $"--silo-cert-sha256-file '{file}'");
    AgentHost.Trust(options);
    return options;
}

var root = new RootCommand("Regatta worker agent: joins a Regatta cluster, trains and evaluates with TorchSharp")
{
    coordinator, gatewaysUrl, gatewaysRefresh, clusterId, serviceId, name, id, device, data, token, run, heartbeat, cache, poison, serveMemory, sessionMemory, serveDelay, blobUrl,
};
foreach (var option in tls) root.Options.Add(option);
// The agent's flags read into options; a bad value throws ArgumentException naming the flag (exit code 2).
AgentOptions ReadAgent(ParseResult parse)
{
    var workerName = parse.GetValue(name) ?? "simulation"; // simulate has no --name: each client is named for its id
    var workerId = parse.GetValue(id) ?? workerName;
    if (!Ids.IsValid(workerId)) throw new ArgumentException($"--id/--name '{workerId}': a worker id is 1 to {Ids.MaxLength} characters of A-Z a-z 0-9 _ . -");
    var runId = parse.GetValue(run);
    if (runId is not null && !Ids.IsValid(runId)) throw new ArgumentException($"--run '{runId}': not a valid run id");
    var seconds = parse.GetValue(heartbeat);
    if (seconds is < 0.2 or > 300) throw new ArgumentException("--heartbeat must be in [0.2, 300] seconds");
    var memoryMb = parse.GetValue(serveMemory);
    if (memoryMb is { } mb && (!double.IsFinite(mb) || mb is < 0 or > 16 << 20)) throw new ArgumentException("--serve-memory-mb must be in [0, 16777216] MiB");
    ModelTransferOptions.From(parse.GetValue(blobUrl));
    var delayMs = parse.GetValue(serveDelay);
    if (delayMs is < 0 or > 60_000) throw new ArgumentException("--serve-delay-ms must be in [0, 60000]");
    var cluster = parse.GetValue(clusterId) ?? NonEmpty(Environment.GetEnvironmentVariable("REGATTA_CLUSTER_ID")) ?? AgentOptions.DefaultClusterId;
    var service = parse.GetValue(serviceId) ?? NonEmpty(Environment.GetEnvironmentVariable("REGATTA_SERVICE_ID")) ?? AgentOptions.DefaultClusterId;
    foreach (var (flag, value) in new[] { ("--cluster-id/REGATTA_CLUSTER_ID", cluster), ("--service-id/REGATTA_SERVICE_ID", service) })
        if (!Ids.IsValid(value)) throw new ArgumentException($"{flag} '{value}': 1 to {Ids.MaxLength} characters of A-Z a-z 0-9 _ . -");
    try
    {
        // The deploy files' example token (CHANGE-ME) is public: joining with it would let anyone join the run.
        PlaceholderSecrets.Refuse(parse.GetValue(token), "--join-token");
    }
    catch (InvalidOperationException e)
    {
        throw new ArgumentException(e.Message, e);
    }
    var sessionMb = parse.GetValue(sessionMemory);
    if (sessionMb is { } smb && (!double.IsFinite(smb) || smb is < 0 or > 16 << 20))
        throw new ArgumentException("--session-memory-mb must be in [0, 16777216]");
    var staticGateways = parse.GetValue(coordinator);
    var gatewaysFrom = parse.GetValue(gatewaysUrl) ?? (staticGateways is null ? Environment.GetEnvironmentVariable("REGATTA_GATEWAYS_URL") is { Length: > 0 } env ? env : null : null);
    var refreshSeconds = parse.GetValue(gatewaysRefresh);
    if (staticGateways is not null && gatewaysFrom is not null) throw new ArgumentException("give either --coordinator or --gateways-url, not both");
    if (gatewaysFrom is not null) GatewayList.ParseUrls(gatewaysFrom);
    else GatewayList.ParseStatic(staticGateways ?? "localhost:30000");
    if (refreshSeconds is < 1 or > 3600 || !double.IsFinite(refreshSeconds)) throw new ArgumentException("--gateways-refresh must be in [1, 3600] seconds");
    var options = new AgentOptions
    {
        Coordinator = staticGateways ?? "localhost:30000",
        GatewaysUrl = gatewaysFrom,
        GatewaysRefresh = TimeSpan.FromSeconds(refreshSeconds),
        ClusterId = cluster,
        ServiceId = service,
        Name = workerName,
        WorkerId = workerId,
        Device = parse.GetValue(device)!,
        Data = parse.GetValue(data),
        JoinToken = parse.GetValue(token),
        RunId = runId,
        Heartbeat = TimeSpan.FromSeconds(seconds),
        CacheDir = parse.GetValue(cache) ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "regatta", workerId),
        Poison = parse.GetValue(poison),
        ServeMemoryBytes = memoryMb is { } m ? (long)(m * (1 << 20)) : null,
        SessionMemoryBytes = sessionMb is { } sm ? (long)(sm * (1 << 20)) : null,
        ServeDelay = TimeSpan.FromMilliseconds(delayMs),
        BlobUrl = parse.GetValue(blobUrl),
    };
    return WithSiloTrust(parse, options);
}
root.SetAction(async (parse, ct) =>
{
    AgentOptions options;
    try
    {
        options = ReadAgent(parse);
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
    return await AgentHost.RunAsync(options, ct);
});
var runIdArg = new Option<string>("--run") { Description = "Run id", Required = true };
var specArg = new Option<string>("--spec") { Description = "Path of the run spec (YAML)", Required = true };
var startArg = new Option<bool>("--start") { Description = "Start the run right after creating it" };
var api = new Option<string>("--api") { Description = "URL of the silo's REST API", DefaultValueFactory = _ => ApiClient.DefaultUrl };
var apiKeyFile = new Option<string?>("--api-key-file") { Description = $"File holding the admin API key (default: env {AdminKey.EnvironmentVariable}, else {AdminKey.LocalSiloFile} when it exists)" };
// The operator commands talk to the REST API only; invalid flags exit with 2 before anything is sent.
async Task<int> Operator(ParseResult parse, Func<Uri, AdminKey?, string, Task<int>> command)
{
    Uri url;
    AdminKey? key;
    string runId;
    try
    {
        url = ApiClient.ParseUrl(parse.GetValue(api)!);
        key = AdminKey.Resolve(parse.GetValue(apiKeyFile));
        runId = Ids.Require(parse.GetValue(runIdArg), "--run");
    }
    catch (Exception e) when (e is ArgumentException or RegattaException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
    return await command(url, key, runId);
}
var submit = new Command("submit", "Create a run from a YAML spec through the REST API (needs the admin API key)") { api, apiKeyFile, runIdArg, specArg, startArg };
submit.SetAction((parse, ct) => Operator(parse, (url, key, runId) =>
    RunCommands.SubmitAsync(url, key, runId, parse.GetValue(specArg)!, parse.GetValue(startArg), Console.Out, Console.Error, ct)));
var baselines = new Option<bool>("--baselines")
{
    Description = "Once the run finishes, train its members' partitions alone and pooled on this machine and report those accuracies too",
};
var watch = new Command("watch", "Print a run's rounds until it ends; the last line is a JSON summary") { api, apiKeyFile, runIdArg, baselines };
watch.SetAction((parse, ct) => Operator(parse, (url, key, runId) =>
    RunCommands.WatchAsync(url, key, runId, Console.Out, Console.Error, ct, baselines: parse.GetValue(baselines))));
root.Subcommands.Add(submit);
root.Subcommands.Add(watch);
// simulate shares the agent's connection flags; its --run is its own (required), --name/--id do not apply.
Option[] connection = [coordinator, gatewaysUrl, gatewaysRefresh, clusterId, serviceId, device, data, token, heartbeat, cache, blobUrl, .. tls];
root.Subcommands.Add(SimulateCommand.Create(connection,
    parse => ReadAgent(parse) with { CacheDir = parse.GetValue(cache) ?? Path.Combine(Path.GetTempPath(), "regatta-simulation") },
    [api, apiKeyFile],
    parse => (ApiClient.ParseUrl(parse.GetValue(api)!), AdminKey.Resolve(parse.GetValue(apiKeyFile)))));

// Ctrl+C and SIGTERM cancel the action's token; the process waits this long for the agent to unregister before it exits
// (System.CommandLine's default of 2 s cut the goodbye short, leaving the worker Online until the heartbeat timeout).
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = WorkerSession.LeaveTimeout + TimeSpan.FromSeconds(5) };
return await root.Parse(args).InvokeAsync(invocation);

static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

using System.CommandLine;
using Regatta;
using Regatta.WorkerAgent;

var coordinator = new Option<string?>("--coordinator") { Description = "Static gateways of the cluster, host:port[,host:port...] (default: localhost:30000 unless --gateways-url)" };
var gatewaysUrl = new Option<string?>("--gateways-url") { Description = "Silo URL(s), URL[,URL...], whose GET /api/cluster/gateways lists the live gateways, read again periodically; default: env REGATTA_GATEWAYS_URL" };
var gatewaysRefresh = new Option<double>("--gateways-refresh") { Description = "Seconds between reads of --gateways-url", DefaultValueFactory = _ => 30 };
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
    coordinator, gatewaysUrl, gatewaysRefresh, name, id, device, data, token, run, heartbeat, cache, poison, serveMemory, sessionMemory, serveDelay, blobUrl,
};
foreach (var option in tls) root.Options.Add(option);
root.SetAction(async (parse, ct) =>
{
    var workerName = parse.GetValue(name)!;
    var workerId = parse.GetValue(id) ?? workerName;
    if (!Ids.IsValid(workerId))
    {
        Console.Error.WriteLine($"--id/--name '{workerId}': a worker id is 1 to {Ids.MaxLength} characters of A-Z a-z 0-9 _ . -");
        return 2;
    }
    var runId = parse.GetValue(run);
    if (runId is not null && !Ids.IsValid(runId))
    {
        Console.Error.WriteLine($"--run '{runId}': not a valid run id");
        return 2;
    }
    var seconds = parse.GetValue(heartbeat);
    if (seconds is < 0.2 or > 300)
    {
        Console.Error.WriteLine("--heartbeat must be in [0.2, 300] seconds");
        return 2;
    }
    var memoryMb = parse.GetValue(serveMemory);
    if (memoryMb is { } mb && (!double.IsFinite(mb) || mb is < 0 or > 16 << 20))
    {
        Console.Error.WriteLine("--serve-memory-mb must be in [0, 16777216] MiB");
        return 2;
    }
    try
    {
        ModelTransferOptions.From(parse.GetValue(blobUrl));
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
    var sessionMb = parse.GetValue(sessionMemory);
    if (sessionMb is { } smb && (!double.IsFinite(smb) || smb is < 0 or > 16 << 20))
    {
        Console.Error.WriteLine("--session-memory-mb must be in [0, 16777216]");
        return 2;
    }
    var delayMs = parse.GetValue(serveDelay);
    if (delayMs is < 0 or > 60_000)
    {
        Console.Error.WriteLine("--serve-delay-ms must be in [0, 60000]");
        return 2;
    }
    var staticGateways = parse.GetValue(coordinator);
    var gatewaysFrom = parse.GetValue(gatewaysUrl) ?? (staticGateways is null ? Environment.GetEnvironmentVariable("REGATTA_GATEWAYS_URL") is { Length: > 0 } env ? env : null : null);
    var refreshSeconds = parse.GetValue(gatewaysRefresh);
    try
    {
        if (staticGateways is not null && gatewaysFrom is not null) throw new ArgumentException("give either --coordinator or --gateways-url, not both");
        if (gatewaysFrom is not null) GatewayList.ParseUrls(gatewaysFrom);
        else GatewayList.ParseStatic(staticGateways ?? "localhost:30000");
        if (refreshSeconds is < 1 or > 3600 || !double.IsFinite(refreshSeconds)) throw new ArgumentException("--gateways-refresh must be in [1, 3600] seconds");
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
    var options = new AgentOptions
    {
        Coordinator = staticGateways ?? "localhost:30000",
        GatewaysUrl = gatewaysFrom,
        GatewaysRefresh = TimeSpan.FromSeconds(refreshSeconds),
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
    try
    {
        options = WithSiloTrust(parse, options);
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
var watch = new Command("watch", "Print a run's rounds until it ends; the last line is a JSON summary") { api, apiKeyFile, runIdArg };
watch.SetAction((parse, ct) => Operator(parse, (url, key, runId) => RunCommands.WatchAsync(url, key, runId, Console.Out, Console.Error, ct)));
root.Subcommands.Add(submit);
root.Subcommands.Add(watch);

return await root.Parse(args).InvokeAsync();

using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Regatta.Silo;
using YamlDotNet.RepresentationModel;

namespace Regatta.Tests;

/// <summary>
/// deploy/k8s as an operator applies it: rendered by <c>kubectl kustomize</c>, every object valid against the Kubernetes
/// API schemas (the kubernetes-models npm package, installed by .ci/run into kubernetes-schema/), every pod within Pod
/// Security "restricted", and its paths, ports and timings those of the code.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly string SchemaDir = Path.Combine(Repo.Root, "tests", "Production.Tests", "kubernetes-schema");

    [Fact]
    public async Task Every_rendered_object_is_valid_against_the_Kubernetes_schemas()
    {
        var rendered = await RenderAsync();

        var (exit, output) = await ValidateAsync(rendered);

        Assert.True(exit == 0, $"kubernetes-models refused objects of deploy/k8s:\n{output}");
        foreach (var expected in new[] { "Namespace/regatta", "Deployment/regatta-silo", "StatefulSet/regatta-agent", "Service/regatta-http",
                     "Service/regatta-gateway", "Service/regatta-agent", "PodDisruptionBudget/regatta-silo", "ConfigMap/regatta-schema-", "ConfigMap/regatta-cluster-" })
            Assert.Contains($"valid {expected}", output);
        // The validator really checks: a wrong type and a value outside an enum are refused.
        var broken = rendered.Replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: \"no\"").Replace("sessionAffinity: ClientIP", "sessionAffinity: Sticky");
        var (brokenExit, brokenOutput) = await ValidateAsync(broken);
        Assert.Equal(1, brokenExit);
        Assert.Contains("invalid Deployment/regatta-silo: data/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation must be boolean", brokenOutput);
        Assert.Contains("invalid Service/regatta-http: data/spec/sessionAffinity must be equal to one of the allowed values", brokenOutput);
    }

    [Fact]
    public async Task The_namespace_comes_first_and_every_pod_meets_Pod_Security_restricted()
    {
        var objects = Parse(await RenderAsync());

        Assert.Equal("Namespace", Text(objects[0], "kind"));
        Assert.Equal("restricted", Text(objects[0], "metadata", "labels", "pod-security.kubernetes.io/enforce"));
        var pods = objects.Where(o => Text(o, "kind") is "Deployment" or "StatefulSet" or "DaemonSet" or "Job").ToList();
        Assert.Equal(2, pods.Count);
        foreach (var workload in pods)
        {
            var name = $"{Text(workload, "kind")}/{Text(workload, "metadata", "name")}";
            var pod = Node(workload, "spec", "template", "spec")!;
            Assert.True(Text(pod, "automountServiceAccountToken") == "false", $"{name}: automountServiceAccountToken must be false");
            Assert.True(Text(pod, "securityContext", "runAsNonRoot") == "true", $"{name}: runAsNonRoot must be true");
            Assert.True(Text(pod, "securityContext", "seccompProfile", "type") == "RuntimeDefault", $"{name}: seccompProfile must be RuntimeDefault");
            foreach (var host in new[] { "hostNetwork", "hostPID", "hostIPC" })
                Assert.True(Text(pod, host) is null or "false", $"{name}: {host}");
            foreach (var volume in Items(pod, "volumes"))
            {
                var kind = ((YamlMappingNode)volume).Children.Keys.Select(k => k.ToString()).Single(k => k != "name");
                Assert.True(kind is "configMap" or "emptyDir" or "secret" or "persistentVolumeClaim" or "downwardAPI" or "projected" or "ephemeral" or "csi",
                    $"{name}: volume {Text(volume, "name")} of type {kind} is not allowed under restricted");
            }
            foreach (var container in Items(pod, "initContainers").Concat(Items(pod, "containers")))
            {
                var where = $"{name} container {Text(container, "name")}";
                Assert.True(Text(container, "securityContext", "allowPrivilegeEscalation") == "false", $"{where}: allowPrivilegeEscalation must be false");
                Assert.True(Items(container, "securityContext", "capabilities", "drop").Select(c => c.ToString()).Contains("ALL"), $"{where}: must drop ALL capabilities");
                Assert.Empty(Items(container, "securityContext", "capabilities", "add"));
                Assert.True(Text(container, "securityContext", "readOnlyRootFilesystem") == "true", $"{where}: readOnlyRootFilesystem");
                Assert.True(Text(container, "securityContext", "privileged") is null or "false", $"{where}: privileged");
                Assert.NotEqual("0", Text(container, "securityContext", "runAsUser") ?? Text(pod, "securityContext", "runAsUser"));
                Assert.All(Items(container, "ports"), port => Assert.Null(Text(port, "hostPort")));
            }
        }
    }

    [Fact]
    public async Task Probes_ports_shutdown_timing_and_secrets_match_the_code()
    {
        var objects = Parse(await RenderAsync());
        var silo = Single(objects, "Deployment", "regatta-silo");
        var pod = Node(silo, "spec", "template", "spec")!;
        var container = Items(pod, "containers").Single();

        Assert.Equal(SiloHealth.LivePath, Text(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal(SiloHealth.LivePath, Text(container, "startupProbe", "httpGet", "path"));
        Assert.Equal(SiloHealth.ReadyPath, Text(container, "readinessProbe", "httpGet", "path"));
        var ports = Items(container, "ports").ToDictionary(p => Text(p, "name")!, p => int.Parse(Text(p, "containerPort")!));
        var env = Items(container, "env").ToDictionary(e => Text(e, "name")!, e => Text(e, "value"));
        Assert.Equal(ports["silo"], int.Parse(env["Regatta__SiloPort"]!));
        Assert.Equal(ports["gateway"], int.Parse(env["Regatta__GatewayPort"]!));
        Assert.Equal($"http://0.0.0.0:{ports["http"]}", env["ASPNETCORE_URLS"]);
        Assert.EndsWith($":{ports["http"]}", SiloSetup.DefaultUrl);

        // SIGTERM comes after preStop; the host must finish (drain, then Orleans) before the kubelet's SIGKILL.
        var settings = SiloSettings.From(new ConfigurationBuilder().AddInMemoryCollection(
            env.Where(e => e.Key.StartsWith("Regatta__", StringComparison.Ordinal) && !e.Key.StartsWith("Regatta__Tls__", StringComparison.Ordinal) && e.Value is not null && e.Key != "Regatta__Storage")
                .Select(e => KeyValuePair.Create(e.Key["Regatta__".Length..].Replace("__", ":"), e.Value))).Build());
        var preStop = Items(container, "lifecycle", "preStop", "exec", "command").Select(c => c.ToString()).ToList();
        Assert.Equal("sleep", preStop[0]);
        var grace = TimeSpan.FromSeconds(int.Parse(Text(pod, "terminationGracePeriodSeconds")!));
        Assert.True(TimeSpan.FromSeconds(int.Parse(preStop[1])) + settings.ShutdownTimeout < grace,
            $"preStop {preStop[1]} s + Regatta__ShutdownTimeout {settings.ShutdownTimeout} must end before terminationGracePeriodSeconds {grace}");
        Assert.True(settings.DrainDelay > TimeSpan.Zero);

        // The schema runs in every silo pod, from a ConfigMap of the repository's very files.
        var init = Items(pod, "initContainers").Single();
        Assert.Equal(["bash", "/schema/init.sh", "$(DB)"], Items(init, "command").Select(c => c.ToString()));
        var schemaMap = Text(Items(pod, "volumes").Single(v => Text(v, "name") == "schema"), "configMap", "name")!;
        var schema = Single(objects, "ConfigMap", schemaMap);
        foreach (var file in new[] { "init.sh", "schema.sql" })
            Assert.Equal(File.ReadAllText(Path.Combine(Repo.Root, "deploy", "postgres", file)), Text(schema, "data", file));

        // Sticky circuits; agents are a StatefulSet that keeps its cache (credential) and hold no silo secret.
        Assert.Equal("ClientIP", Text(Single(objects, "Service", "regatta-http"), "spec", "sessionAffinity"));
        var agent = Single(objects, "StatefulSet", "regatta-agent");
        Assert.Equal("cache", Text(Items(agent, "spec", "volumeClaimTemplates").Single(), "metadata", "name"));
        var agentSecrets = Items(agent, "spec", "template", "spec", "containers").SelectMany(c => Items(c, "env"))
            .Select(e => Text(e, "valueFrom", "secretKeyRef", "name")).OfType<string>().ToList();
        Assert.Equal(["regatta-join"], agentSecrets);
    }

    [Fact]
    public void Every_example_secret_is_refused_as_a_placeholder()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Repo.Root, "deploy", "k8s", "secrets.example.yaml"))));
        var values = stream.Documents.Select(d => (YamlMappingNode)d.RootNode).Where(o => Text(o, "kind") == "Secret")
            .SelectMany(o => ((YamlMappingNode)Node(o, "stringData")!).Children.Select(c => (Key: $"{Text(o, "metadata", "name")}/{c.Key}", Value: c.Value.ToString())))
            .ToList();

        Assert.Contains(values, v => v.Key == "regatta-join/join-token");
        foreach (var (key, value) in values)
        {
            var secret = key == "regatta-db/connection-string" ? Regatta.Silo.Production.PostgresSiloSetup.DatabasePassword(value) : value;
            Assert.True(PlaceholderSecrets.IsPlaceholder(secret), $"{key} of secrets.example.yaml would be accepted in production");
        }
    }

    /// <summary><c>kubectl kustomize deploy/k8s</c>; fails naming the package when kubectl is missing (.ci/run installs it).</summary>
    private static async Task<string> RenderAsync()
    {
        var kubectl = new[] { Environment.GetEnvironmentVariable("REGATTA_KUBECTL"), "/usr/bin/kubectl", "/usr/local/bin/kubectl" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p))
            ?? throw new InvalidOperationException("kubectl not found: install Debian's kubernetes-client (apt-get install -y kubernetes-client), as .ci/run does, or set REGATTA_KUBECTL");
        var (exit, output, errors) = await RunAsync(kubectl, ["kustomize", Path.Combine(Repo.Root, "deploy", "k8s")], stdin: null);
        Assert.True(exit == 0, $"kubectl kustomize deploy/k8s failed ({exit}): {errors}");
        return output;
    }

    private static async Task<(int Exit, string Output)> ValidateAsync(string rendered)
    {
        if (!Directory.Exists(Path.Combine(SchemaDir, "node_modules", "kubernetes-models")))
            throw new InvalidOperationException($"kubernetes-models is not installed: npm ci --prefix {SchemaDir} (as .ci/run does)");
        var (exit, output, errors) = await RunAsync("node", [Path.Combine(SchemaDir, "validate.mjs")], rendered);
        return (exit, output + errors);
    }

    private static async Task<(int Exit, string Output, string Errors)> RunAsync(string file, IReadOnlyList<string> args, string? stdin)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await output, await errors);
    }

    private static List<YamlMappingNode> Parse(string rendered)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(rendered));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlMappingNode Single(IEnumerable<YamlMappingNode> objects, string kind, string name) =>
        objects.Single(o => Text(o, "kind") == kind && Text(o, "metadata", "name") == name);

    private static YamlNode? Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            node = next;
        }
        return node;
    }

    private static string? Text(YamlNode node, params string[] path) => Node(node, path) is YamlScalarNode scalar ? scalar.Value : null;

    private static IEnumerable<YamlNode> Items(YamlNode node, params string[] path) =>
        Node(node, path) is YamlSequenceNode sequence ? sequence.Children : [];
}

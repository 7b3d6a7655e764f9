using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using YamlDotNet.RepresentationModel;

namespace CacheProxy.Tests.Gateway;

/// <summary>
/// The deployment files in samples/ stay true to the gateway: the Kubernetes manifests parse, probe the management
/// port's health paths, wait longer than the drain, and carry settings the gateway accepts; the Dockerfile's health
/// check command works. No Docker engine or Kubernetes cluster runs here, so the images and the API server's own
/// validation are not exercised.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string Samples = Path.Combine(OperationsDocsTests.RepoRoot(), "samples");
    private static readonly string Kubernetes = Path.Combine(Samples, "kubernetes");
    private static readonly string Dockerfile = File.ReadAllText(Path.Combine(Samples, "CacheProxy.Gateway", "Dockerfile"));

    [Fact]
    public void TheManifests_Parse_AndKustomizeAppliesEachOfThem()
    {
        var kustomization = Load(Path.Combine(Kubernetes, "kustomization.yaml")).Single();
        var resources = ((YamlSequenceNode)kustomization["resources"]).Select(n => n.ToString()).Order();
        var files = Directory.GetFiles(Kubernetes, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order();
        Assert.Equal(files, resources);

        var manifests = Manifests();
        Assert.All(manifests, m =>
        {
            Assert.False(string.IsNullOrEmpty(Text(m, "apiVersion")));
            Assert.False(string.IsNullOrEmpty(Text(m, "metadata", "name")));
        });
        Assert.Equal(
            ["ConfigMap", "Deployment", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "NetworkPolicy", "PodDisruptionBudget", "Service", "Service"],
            manifests.Select(m => Text(m, "kind")!).Order());
    }

    [Fact]
    public void TheDeployment_ProbesTheImagesManagementPort_AndWaitsLongerThanTheDrain()
    {
        var manifests = Manifests();
        var deployment = Find(manifests, "Deployment", "cacheproxy-gateway");
        var pod = (YamlMappingNode)Node(deployment, "spec", "template", "spec")!;
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Single();

        // The ports the image listens on (its Kestrel endpoints) are the container's named ports, and exposed.
        var ports = ((YamlSequenceNode)container["ports"]).Cast<YamlMappingNode>().ToDictionary(p => Text(p, "name")!, p => int.Parse(Text(p, "containerPort")!));
        Assert.Equal(ImagePort("Public"), ports["http"]);
        Assert.Equal(ImagePort("Management"), ports["management"]);
        Assert.Matches($@"(?m)^EXPOSE {ports["http"]} {ports["management"]}$", Dockerfile);

        Assert.Equal("/health/ready", Text(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("management", Text(container, "readinessProbe", "httpGet", "port"));
        Assert.Equal("/health/live", Text(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("management", Text(container, "livenessProbe", "httpGet", "port"));

        // The kubelet sends SIGTERM after preStop and kills at the grace period: it must cover the whole drain.
        var shutdown = Settings().GetProperty("CacheProxy").GetProperty("Shutdown");
        var drain = TimeSpan.Parse(shutdown.GetProperty("DrainDelay").GetString()!) + TimeSpan.Parse(shutdown.GetProperty("Timeout").GetString()!);
        var preStop = TimeSpan.FromSeconds(int.Parse(Text(container, "lifecycle", "preStop", "sleep", "seconds")!));
        var grace = TimeSpan.FromSeconds(int.Parse(Text(pod, "terminationGracePeriodSeconds")!));
        Assert.True(grace > preStop + drain, $"terminationGracePeriodSeconds {grace} must exceed preStop {preStop} + DrainDelay and Timeout {drain}");

        // The settings directory is the mounted ConfigMap, reloaded by polling (a ConfigMap update swaps a symlink).
        var env = Env(container);
        Assert.Equal("1", env["DOTNET_USE_POLLING_FILE_WATCHER"]);
        var mount = ((YamlSequenceNode)container["volumeMounts"]).Cast<YamlMappingNode>().Single(m => Text(m, "mountPath") == env["CACHEPROXY_SETTINGS_DIR"]);
        var volume = ((YamlSequenceNode)pod["volumes"]).Cast<YamlMappingNode>().Single(v => Text(v, "name") == Text(mount, "name"));
        Assert.Equal("cacheproxy-settings", Text(volume, "configMap", "name"));
        Find(manifests, "ConfigMap", "cacheproxy-settings");

        // The Service exposes the public port only; the PDB and HPA are about this Deployment.
        var service = Find(manifests, "Service", "cacheproxy-gateway");
        Assert.Equal(["http"], ((YamlSequenceNode)Node(service, "spec", "ports")!).Select(p => Text(p, "targetPort")));
        var podLabels = Labels(Node(deployment, "spec", "template", "metadata", "labels"));
        Assert.Subset(podLabels, Labels(Node(Find(manifests, "Service", "cacheproxy-gateway"), "spec", "selector")));
        Assert.Subset(podLabels, Labels(Node(Find(manifests, "PodDisruptionBudget", "cacheproxy-gateway"), "spec", "selector", "matchLabels")));
        var hpa = Find(manifests, "HorizontalPodAutoscaler", "cacheproxy-gateway");
        Assert.Equal("Deployment/cacheproxy-gateway", $"{Text(hpa, "spec", "scaleTargetRef", "kind")}/{Text(hpa, "spec", "scaleTargetRef", "name")}");
        Assert.Equal("cpu", Text(((YamlSequenceNode)Node(hpa, "spec", "metrics")!)[0], "resource", "name"));
    }

    [Fact]
    public void TheNetworkPolicies_KeepTheManagementPortAndRedisPrivate()
    {
        var manifests = Manifests();
        var podLabels = Labels(Node(Find(manifests, "Deployment", "cacheproxy-gateway"), "spec", "template", "metadata", "labels"));

        var gateway = Find(manifests, "NetworkPolicy", "cacheproxy-gateway");
        Assert.Subset(podLabels, Labels(Node(gateway, "spec", "podSelector", "matchLabels")));
        var rules = ((YamlSequenceNode)Node(gateway, "spec", "ingress")!).Cast<YamlMappingNode>().ToList();
        // A rule without "from" admits everyone: only the public port may be in one.
        Assert.All(rules.Where(r => !r.Children.ContainsKey("from")), r => Assert.Equal(["http"], Ports(r)));
        Assert.Contains(rules, r => r.Children.ContainsKey("from") && Ports(r).SequenceEqual(["management"]));

        var redis = Find(manifests, "NetworkPolicy", "cacheproxy-redis");
        var redisRule = (YamlMappingNode)((YamlSequenceNode)Node(redis, "spec", "ingress")!).Single();
        var allowed = Labels(Node(((YamlSequenceNode)redisRule["from"]).Single(), "podSelector", "matchLabels"));
        Assert.Subset(podLabels, allowed); // the gateways, and nobody else
        Assert.Equal(["redis"], Ports(redisRule));
    }

    [Fact]
    public void TheDockerfile_RunsAsNonRoot_CopiesWhatExists_AndChecksHealthWithTheGatewayItself()
    {
        Assert.Matches(@"(?m)^USER \$APP_UID$", Dockerfile);
        Assert.Matches(@"(?m)^HEALTHCHECK .*CMD \[""dotnet"", ""CacheProxy.Gateway.dll"", ""probe"", ""live""\]$", Dockerfile);
        Assert.Matches(@"(?m)^ENTRYPOINT \[""dotnet"", ""CacheProxy.Gateway.dll""\]$", Dockerfile); // exec form: SIGTERM reaches the gateway
        var sources = Regex.Matches(Dockerfile, @"(?m)^COPY (?!--from)(.+) \S+$").SelectMany(m => m.Groups[1].Value.Split(' '));
        Assert.All(sources, s => Assert.True(Path.Exists(Path.Combine(OperationsDocsTests.RepoRoot(), s)), s + " does not exist"));
    }

    [Fact]
    public async Task TheConfigMapsSettings_StartTheGateway_TheProbedPathsAnswer_AndTheHealthCheckCommandFollowsIt()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var settings = WriteConfigMap(Directory.CreateTempSubdirectory("cacheproxy-configmap-"));
        try
        {
            var env = Env((YamlMappingNode)((YamlSequenceNode)Node(Find(Manifests(), "Deployment", "cacheproxy-gateway"), "spec", "template", "spec", "containers")!).Single());
            await using var gateway = GatewayProcess.Start("Production", origin.Address,
                ("CACHEPROXY_SETTINGS_DIR", settings.FullName),
                ("DOTNET_USE_POLLING_FILE_WATCHER", env["DOTNET_USE_POLLING_FILE_WATCHER"]),
                ("CacheProxy__Redis__Configuration", redis.Endpoint), // the manifest's cacheproxy-redis:6379, here
                ("CacheProxy__Management__ApiKeys__ops", "ops-key-0123456789abcdef0123456789"));
            await gateway.WaitStartedAsync();
            await gateway.WaitHealthyAsync();

            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}/")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{gateway.ManagementPort}/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{gateway.ManagementPort}/health/ready")).StatusCode);

            var (code, output) = await ProbeAsync(gateway.ManagementPort, "live");
            Assert.True(code == 0, output);
            (code, output) = await ProbeAsync(gateway.ManagementPort, "ready");
            Assert.True(code == 0, output);
            Assert.Contains("\"status\":\"Healthy\"", output, StringComparison.Ordinal);

            await gateway.StopGracefullyAsync();
            (code, output) = await ProbeAsync(gateway.ManagementPort, "live");
            Assert.Equal(1, code);
            Assert.Contains("did not answer", output, StringComparison.Ordinal);
        }
        finally
        {
            settings.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The kubelet updates a ConfigMap volume by writing a new directory and swapping the <c>..data</c> symlink that
    /// the files point through; no event names the file itself, so the gateway sees it only by polling, as the
    /// Deployment sets (DOTNET_USE_POLLING_FILE_WATCHER).
    /// </summary>
    [Fact]
    public async Task AConfigMapUpdate_ThroughTheKubeletsSymlinkSwap_IsReloaded()
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c => c.Response.WriteAsync("no freshness: only a route's Ttl stores it");
        var volume = Directory.CreateTempSubdirectory("cacheproxy-volume-");
        try
        {
            await SwapConfigMapAsync(volume, "..2026_12_01_00_00_00.1", """{ "CacheProxy": { "Routes": { "all": { "Enabled": false } } } }""");
            File.CreateSymbolicLink(Path.Combine(volume.FullName, "cacheproxy.json"), Path.Combine("..data", "cacheproxy.json"));
            await using var gateway = GatewayProcess.Start("Production", origin.Address,
                ("CACHEPROXY_SETTINGS_DIR", volume.FullName), ("DOTNET_USE_POLLING_FILE_WATCHER", "1"));
            await gateway.WaitStartedAsync();
            using var http = new HttpClient();
            Assert.Contains("fwd=bypass", await CacheStatusAsync(http, gateway, "/a"));

            await SwapConfigMapAsync(volume, "..2026_12_01_00_01_00.2", """{ "CacheProxy": { "Routes": { "all": { "Ttl": "00:01:00" } } } }""");
            await gateway.WaitForLineAsync("\"EventId\":1302"); // ConfigurationReloaded

            await CacheStatusAsync(http, gateway, "/b");
            Assert.StartsWith("CacheProxy; hit", await CacheStatusAsync(http, gateway, "/b"));
        }
        finally
        {
            volume.Delete(recursive: true);
        }
    }

    private static async Task<string> CacheStatusAsync(HttpClient http, GatewayProcess gateway, string path) =>
        (await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}{path}")).CacheStatus();

    /// <summary>What the kubelet does: the new files in a new timestamped directory, then <c>..data</c> renamed onto it atomically.</summary>
    private static async Task SwapConfigMapAsync(DirectoryInfo volume, string version, string json)
    {
        Directory.CreateDirectory(Path.Combine(volume.FullName, version));
        File.WriteAllText(Path.Combine(volume.FullName, version, "cacheproxy.json"), json);
        var temporary = Path.Combine(volume.FullName, "..data_tmp");
        File.CreateSymbolicLink(temporary, version);
        // rename(2) over the old link, as the kubelet does (File.Move refuses a link to a directory).
        using var rename = Process.Start("mv", ["-T", temporary, Path.Combine(volume.FullName, "..data")]);
        await rename.WaitForExitAsync();
        Assert.Equal(0, rename.ExitCode);
    }

    /// <summary>Runs the Dockerfile's health check command against a gateway whose management endpoint is on <paramref name="port"/>.</summary>
    private static async Task<(int ExitCode, string Output)> ProbeAsync(int port, string check)
    {
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "CacheProxy.Gateway.dll"), "probe", check])
        {
            WorkingDirectory = Path.GetTempPath(),
        };
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Kestrel__Endpoints__Management__Url"] = $"http://127.0.0.1:{port}";
        info.Environment.Remove("CACHEPROXY_SETTINGS_DIR");
        var (exitCode, output, error) = await ExternalProcess.RunAsync(info, TimeSpan.FromSeconds(30));
        return (exitCode, output + error);
    }

    private static DirectoryInfo WriteConfigMap(DirectoryInfo directory)
    {
        foreach (var (name, content) in (YamlMappingNode)Node(Find(Manifests(), "ConfigMap", "cacheproxy-settings"), "data")!)
        {
            File.WriteAllText(Path.Combine(directory.FullName, name.ToString()), content.ToString());
        }
        return directory;
    }

    /// <summary>The ConfigMap's cacheproxy.json (JSON with comments, as the configuration reader takes it).</summary>
    private static JsonElement Settings()
    {
        var json = Text(Find(Manifests(), "ConfigMap", "cacheproxy-settings"), "data", "cacheproxy.json")!;
        return JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }).RootElement.Clone();
    }

    private static int ImagePort(string endpoint) =>
        int.Parse(Regex.Match(Dockerfile, $@"Kestrel__Endpoints__{endpoint}__Url=http://\+:(\d+)").Groups[1].Value);

    private static List<YamlMappingNode> Manifests() =>
        [.. Directory.GetFiles(Kubernetes, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml").Order().SelectMany(Load)];

    private static IEnumerable<YamlMappingNode> Load(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(file)));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
    }

    private static YamlMappingNode Find(IEnumerable<YamlMappingNode> manifests, string kind, string name) =>
        manifests.Single(m => Text(m, "kind") == kind && Text(m, "metadata", "name") == name);

    private static YamlNode? Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(key, out var child))
            {
                return null;
            }
            node = child;
        }
        return node;
    }

    private static string? Text(YamlNode node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    private static Dictionary<string, string> Env(YamlMappingNode container) =>
        ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>().Where(e => e.Children.ContainsKey("value"))
            .ToDictionary(e => Text(e, "name")!, e => Text(e, "value")!);

    private static HashSet<KeyValuePair<string, string>> Labels(YamlNode? node) =>
        [.. ((YamlMappingNode)node!).Select(p => KeyValuePair.Create(p.Key.ToString(), p.Value.ToString()))];

    private static List<string> Ports(YamlMappingNode rule) =>
        [.. ((YamlSequenceNode)rule["ports"]).Select(p => Text(p, "port")!)];
}

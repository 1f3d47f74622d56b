using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>The agent's --cluster-db option is outside input: a malformed value is refused before anything connects.</summary>
public sealed class AgentClusteringTests
{
    [Theory]
    [InlineData("this is not a connection string")]
    [InlineData("Host=db;NoSuchKeyword=1")]
    public void Agent_refuses_a_cluster_database_that_is_not_an_npgsql_connection_string(string clusterDb)
    {
        var options = new AgentOptions { Coordinator = "127.0.0.1:1", ClusterDb = clusterDb, Name = "a", WorkerId = "a", CacheDir = Path.GetTempPath() };

        var refused = Assert.Throws<ArgumentException>(() => AgentHost.Build(options, _ => { }));

        Assert.Contains("--cluster-db", refused.Message);
    }
}

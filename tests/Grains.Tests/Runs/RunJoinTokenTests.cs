using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Regatta.Grains.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>A run's join token is kept only as its SHA-256: never in the spec a view, kit or assignment carries.</summary>
public class RunJoinTokenTests
{
    private const string Token = "consortium-secret-2030";
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    [Fact]
    public void A_created_run_keeps_only_the_hash_of_its_join_token()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { JoinToken = Token });

        Assert.Null(h.Data.Spec!.JoinToken);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Token))), h.Data.JoinTokenHash);
        // Nothing built from the run's data carries it: the view, the kit's spec, the stored state.
        Assert.Null(h.Run.ToView().Spec.JoinToken);
        Assert.DoesNotContain(Token, RunSpecYaml.Write(h.Data.Spec));
        Assert.DoesNotContain(Token, JsonSerializer.Serialize(h.Run.ToView(), Json));
        Assert.DoesNotContain(Token, JsonSerializer.Serialize(h.Data, Json));
    }

    [Fact]
    public void Only_the_right_token_matches()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { JoinToken = Token });

        Assert.True(h.Run.IsJoinToken(Token));
        Assert.False(h.Run.IsJoinToken(Token + "x"));
        Assert.False(h.Run.IsJoinToken(Token.ToUpperInvariant()));
        Assert.False(h.Run.IsJoinToken(""));
        Assert.False(h.Run.IsJoinToken(null));
    }

    [Fact]
    public void A_run_without_a_token_admits_no_token()
    {
        var h = new RunHarness();

        Assert.Null(h.Data.JoinTokenHash);
        Assert.False(h.Run.IsJoinToken(""));
        Assert.False(h.Run.IsJoinToken(Token));
        Assert.False(h.Run.ProtectJoinToken());
    }

    [Fact]
    public void A_run_stored_with_a_plain_token_hashes_it_on_load()
    {
        // As a run created before tokens were hashed was stored.
        var stored = new RunData { RunId = "old", Exists = true, Spec = RunHarness.DefaultSpec with { JoinToken = Token } };

        var run = new RunLifecycle(stored, TimeProvider.System);
        Assert.True(run.ProtectJoinToken()); // the grain writes the state when this says it changed

        Assert.Null(stored.Spec!.JoinToken);
        Assert.Equal(JoinTokens.Hash(Token), stored.JoinTokenHash);
        Assert.True(run.IsJoinToken(Token));
        Assert.False(run.ProtectJoinToken()); // once only
    }
}

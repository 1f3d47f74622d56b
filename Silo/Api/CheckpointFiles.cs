using System.Text.Json;
using Regatta.Dashboard;
using Regatta.Dashboard.Access;
using Regatta.Grains.Models;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Silo.Api;

/// <summary>
/// A run's checkpoints as files other tools read: <c>model.safetensors</c> (the weights, float32, named as the model
/// names its parameters) and <c>config.json</c> (which model they fit and where they came from). Operators download them
/// with the admin key under /api/runs/{id}/checkpoints/{round}/, and from the dashboard (signed in as admin) under
/// <see cref="DashboardPaths.CheckpointFiles"/>; both routes answer from here.
/// </summary>
public static class CheckpointFiles
{
    public const string Weights = "model.safetensors";
    public const string Config = "config.json";

    private static readonly JsonSerializerOptions ConfigJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>The routes under a group whose prefix is a run's checkpoints.</summary>
    public static void MapCheckpointFiles(this RouteGroupBuilder runs, Func<RouteHandlerBuilder, RouteHandlerBuilder> secure)
    {
        secure(runs.MapGet("/{id}/checkpoints/{round:int}/" + Weights, DownloadWeights))
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream").Problems(400, 401, 404)
            .WithSummary("A checkpoint's weights as a safetensors file (float32)");
        secure(runs.MapGet("/{id}/checkpoints/{round:int}/" + Config, DownloadConfig))
            .Produces(StatusCodes.Status200OK, contentType: "application/json").Problems(400, 401, 404)
            .WithSummary("What a checkpoint's weights fit: the model spec, the tensors' names and shapes, the run and round");
    }

    /// <summary>The dashboard's download links: the same files behind the dashboard's admin sign-in instead of the API key.</summary>
    public static WebApplication MapCheckpointDownloads(this WebApplication app)
    {
        app.MapGroup(DashboardPaths.CheckpointFiles).ExcludeFromDescription()
            .MapCheckpointFiles(route => route.RequireAuthorization(DashboardRoles.AdminPolicy));
        return app;
    }

    private static async Task<IResult> DownloadWeights(string id, int round, IGrainFactory grains, IBlobStore blobs)
    {
        var (_, _, weights) = await Read(id, round, grains, blobs);
        return TypedResults.File(SafetensorsWeights.ToBytes(weights), "application/octet-stream", $"{id}-round{round}.safetensors");
    }

    private static async Task<IResult> DownloadConfig(string id, int round, IGrainFactory grains, IBlobStore blobs)
    {
        var (view, checkpoint, weights) = await Read(id, round, grains, blobs);
        var config = new
        {
            Format = "regatta-checkpoint",
            Run = view.RunId,
            checkpoint.Round,
            checkpoint.ModelHash,
            checkpoint.At,
            Model = new { view.Spec.Model.Name, view.Spec.Model.Parameters },
            Dtype = "float32",
            Tensors = weights.Tensors.Select(t => new { t.Name, t.Shape }),
        };
        return TypedResults.File(JsonSerializer.SerializeToUtf8Bytes(config, ConfigJson), "application/json", $"{id}-round{round}.config.json");
    }

    private static async Task<(RunView View, Checkpoint Checkpoint, ModelWeights Weights)> Read(string id, int round, IGrainFactory grains, IBlobStore blobs)
    {
        var view = await grains.GetGrain<IRunGrain>(ApiQuery.Id(id, "id")).GetView();
        if (view.RunId.Length == 0) throw new ApiProblemException(StatusCodes.Status404NotFound, "id", $"run '{id}' does not exist", "unknown_run");
        var checkpoint = view.Checkpoints.LastOrDefault(c => c.Round == round)
            ?? throw new ApiProblemException(StatusCodes.Status404NotFound, "round", view.Checkpoints.Count == 0
                ? $"run '{id}' has no checkpoint yet"
                : $"run '{id}' has no checkpoint of round {round}; it has rounds {string.Join(", ", view.Checkpoints.Select(c => c.Round))}", "no_checkpoint");
        return (view, checkpoint, ModelWeights.FromBytes(await blobs.ReadAllAsync(checkpoint.ModelHash)));
    }
}

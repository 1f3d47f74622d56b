using System.Security.Cryptography;
using System.Text;
using Regatta.Models;
using Regatta.Silo.Api;
using Regatta.Workers;

namespace Regatta.Silo.Blobs;

/// <summary>
/// Who may move a blob over HTTP: the admin API key; a worker by its credential (bearer token, its id in
/// <see cref="WorkerHeader"/>), for the blobs its own assignments name, as over the gateway
/// (<see cref="IWorkerClusterGrain.MayAccessBlob"/>); or a connected agent holding a ticket that the blob's grain
/// granted it for this very hash (<see cref="IBlobGrain.GrantTicket"/>, itself checked by the gate). Anonymous
/// requests get 401: even a download needs a credential, since a model's hash shows in run views while its weights
/// are the consortium's.
/// </summary>
public static class BlobAuth
{
    public const string WorkerHeader = "X-Regatta-Worker";

    public static async Task RequireAsync(HttpContext http, string hash, BlobAccess access)
    {
        if (http.RequestServices.GetService<AdminApiKey>()?.Matches(ApiAuth.Bearer(http)) == true) return;
        var bearer = ApiAuth.Bearer(http);
        if (bearer is { Length: > 0 and <= 200 })
        {
            var worker = http.Request.Headers[WorkerHeader];
            if (worker.Count == 1 && Ids.IsValid(worker[0]))
            {
                if (await ApiAuth.IsWorker(http, worker[0]!))
                {
                    var why = await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IWorkerClusterGrain>(worker[0]!).MayAccessBlob(hash, access);
                    if (why is null) return;
                    throw new ApiProblemException(StatusCodes.Status403Forbidden, "Authorization",
                        Grains.Workers.BlobAccessRules.Refusal(worker[0]!, hash, access, why), "forbidden");
                }
            }
            else if (worker.Count == 0 &&
                     await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IBlobGrain>(hash)
                         .CheckTicket(SHA256.HashData(Encoding.UTF8.GetBytes(bearer))))
            {
                return;
            }
        }
        throw ApiAuth.Unauthorized(http, $"the admin API key, a worker token (with {WorkerHeader}: <worker id>) or a ticket for blob {hash[..12]}…");
    }
}

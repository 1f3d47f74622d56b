using Orleans.Configuration;
using Orleans.Hosting;

namespace Regatta.Storage;

/// <summary>The grain storage both storage modes register: ADO.NET, state in <see cref="StoredStateSerializer"/>'s format.</summary>
internal static class RegattaGrainStorage
{
    /// <summary>Registers the ADO.NET grain storage <paramref name="name"/>, and the same store as "Default" when asked.</summary>
    public static void Add(ISiloBuilder builder, string name, bool alsoAsDefault, Action<AdoNetGrainStorageOptions> configure)
    {
        builder.AddAdoNetGrainStorage(name, configure);
        StoredStateSerializer.Use(builder.Services, name);
        if (!alsoAsDefault || string.Equals(name, StorageNames.Default, StringComparison.Ordinal)) return;
        builder.AddAdoNetGrainStorageAsDefault(configure);
        StoredStateSerializer.Use(builder.Services, StorageNames.Default);
    }
}

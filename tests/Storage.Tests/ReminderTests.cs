using Microsoft.Data.Sqlite;

namespace Regatta.Storage.Tests;

public sealed class ReminderTests : IDisposable
{
    private static readonly TimeSpan FailureBound = TimeSpan.FromSeconds(45);
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public async Task A_reminder_registered_before_a_restart_fires_after_it_by_itself()
    {
        var key = $"probe-{Guid.NewGuid():N}";
        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "before"))
        {
            await silo.Grains.GetGrain<IReminderProbeGrain>(key).Register(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        }

        // The row is in the file, written by the first silo.
        await using (var connection = new SqliteConnection($"Data Source={dir.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT ReminderName, Period FROM OrleansRemindersTable WHERE GrainId LIKE '%' || $key";
            command.Parameters.AddWithValue("$key", key);
            using var reader = command.ExecuteReader();
            Assert.True(reader.Read());
            Assert.Equal(ReminderProbeGrain.ReminderName, reader.GetString(0));
            Assert.Equal(2000L, reader.GetInt64(1));
        }

        // Nothing calls the grain in the new silo: the reminder service must activate it.
        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "after"))
        {
            var fired = await ReminderProbe.WhenFired(key, "after").WaitAsync(FailureBound, TestContext.Current.CancellationToken);
            Assert.Equal(ReminderProbeGrain.ReminderName, fired);

            await silo.Grains.GetGrain<IReminderProbeGrain>(key).Unregister();
        }

        await using (var connection = new SqliteConnection($"Data Source={dir.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM OrleansRemindersTable";
            Assert.Equal(0L, (long)command.ExecuteScalar()!);
        }
    }
}

using Microsoft.Data.Sqlite;

namespace Regatta.Storage.Tests;

/// <summary>The SQLite file holds every grain's state: only the silo's user may read it.</summary>
public sealed class FileModeTests : IDisposable
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void A_new_database_and_its_wal_are_created_0600()
    {
        if (OperatingSystem.IsWindows()) return;
        var database = RegattaSqliteDatabase.Open(new RegattaSqliteStorageOptions { DataDir = dir.DataDir });
        try
        {
            using var connection = new SqliteConnection(database.ConnectionString);
            connection.Open();
            using (var write = connection.CreateCommand())
            {
                write.CommandText = "CREATE TABLE IF NOT EXISTS probe (x); INSERT INTO probe VALUES (1);";
                write.ExecuteNonQuery();
            }

            Assert.Equal(Private, File.GetUnixFileMode(database.DatabasePath));
            Assert.True(File.Exists(database.DatabasePath + "-wal"), "an open WAL database has its -wal file");
            Assert.Equal(Private, File.GetUnixFileMode(database.DatabasePath + "-wal"));
            Assert.Equal(Private, File.GetUnixFileMode(database.DatabasePath + "-shm"));
        }
        finally
        {
            SqliteConnection.ClearPool(new SqliteConnection(database.ConnectionString));
        }
    }

    [Fact]
    public void A_database_left_world_readable_by_an_older_version_is_narrowed_to_0600()
    {
        if (OperatingSystem.IsWindows()) return;
        var first = RegattaSqliteDatabase.Open(new RegattaSqliteStorageOptions { DataDir = dir.DataDir });
        SqliteConnection.ClearPool(new SqliteConnection(first.ConnectionString));
        File.SetUnixFileMode(first.DatabasePath, Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var again = RegattaSqliteDatabase.Open(new RegattaSqliteStorageOptions { DataDir = dir.DataDir });
        SqliteConnection.ClearPool(new SqliteConnection(again.ConnectionString));

        Assert.Equal(Private, File.GetUnixFileMode(again.DatabasePath));
    }
}

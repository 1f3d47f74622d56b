-- Regatta: SQLite schema for the Orleans ADO.NET providers (grain persistence and reminders).
--
-- This file is the single source of truth. The Storage library (Regatta.Storage) embeds it and
-- applies it at every silo start, inside one transaction, after setting PRAGMA journal_mode=WAL.
-- To apply it by hand:
--     sqlite3 data/regatta.db "PRAGMA journal_mode=WAL;" ".read deploy/sqlite/schema.sql"
--
-- Rules this script keeps (see /work/shared/notes/orleans-adonet-sqlite.md):
--  * Idempotent: CREATE ... IF NOT EXISTS for tables and indexes, INSERT OR REPLACE for the
--    OrleansQuery rows. Applying it twice changes nothing.
--  * No BEGIN/COMMIT anywhere, neither in this script nor in the stored query texts. Every write
--    query is one statement in autocommit mode, so a statement that fails (for example with
--    "database is locked" after the busy timeout) is rolled back by SQLite itself and cannot leave
--    a transaction open on a pooled connection.
--  * Contract of the providers (Orleans 10.4.2, invariant "System.Data.SQLite" served by
--    Microsoft.Data.Sqlite): parameter names and result column names below are read by name.
--  * The grain state Version is the ETag. A write or clear with a stale Version returns no row,
--    which Orleans turns into an InconsistentStateException.

-- ---------------------------------------------------------------------------------------------
-- Named queries
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

-- ---------------------------------------------------------------------------------------------
-- Grain persistence
-- ---------------------------------------------------------------------------------------------
-- A grain state is identified by (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1,
-- GrainIdExtensionString); GrainIdHash and GrainTypeHash are Orleans' signed 32-bit hashes of the
-- id and the type, used to narrow the lookup. A NULL extension and an empty one are the same key
-- (IFNULL(..., '')), which lets one unique index serve both the lookups and the upsert.
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            INTEGER NOT NULL,
    GrainIdN0              INTEGER NOT NULL,
    GrainIdN1              INTEGER NOT NULL,
    GrainTypeHash          INTEGER NOT NULL,
    GrainTypeString        TEXT    NOT NULL,
    GrainIdExtensionString TEXT    NULL,
    ServiceId              TEXT    NOT NULL,
    PayloadBinary          BLOB    NULL,     -- NULL after a clear (the row and its Version stay)
    ModifiedOn             TEXT    NOT NULL, -- UTC, informational only
    Version                INTEGER NOT NULL  -- the ETag
);

CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain ON OrleansStorage
(
    GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, ServiceId,
    IFNULL(GrainIdExtensionString, '')
);

-- Write: one upsert statement.
--  * GrainStateVersion NULL, no row yet      -> inserts Version 1, returns 1.
--  * GrainStateVersion NULL, row exists      -> conflict, DO UPDATE's WHERE is false: no row.
--  * GrainStateVersion = stored Version      -> updates, returns Version + 1.
--  * GrainStateVersion <> stored Version     -> no row.
--  * GrainStateVersion set, no row at all    -> the SELECT proposes nothing: no row.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
INSERT INTO OrleansStorage
    (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
     ServiceId, PayloadBinary, ModifiedOn, Version)
SELECT
    @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
    @ServiceId, @PayloadBinary, strftime(''%Y-%m-%d %H:%M:%f'', ''now''), 1
WHERE @GrainStateVersion IS NULL
   OR EXISTS (
        SELECT 1 FROM OrleansStorage
        WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
          AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
          AND GrainTypeString = @GrainTypeString AND ServiceId = @ServiceId
          AND IFNULL(GrainIdExtensionString, '''') = IFNULL(@GrainIdExtensionString, ''''))
ON CONFLICT (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, ServiceId,
             IFNULL(GrainIdExtensionString, ''''))
DO UPDATE SET
    PayloadBinary = excluded.PayloadBinary,
    ModifiedOn = excluded.ModifiedOn,
    Version = OrleansStorage.Version + 1
WHERE OrleansStorage.Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString AND ServiceId = @ServiceId
  AND IFNULL(GrainIdExtensionString, '''') = IFNULL(@GrainIdExtensionString, '''')
LIMIT 1;
');

-- Clear keeps the row (PayloadBinary NULL) and bumps the Version; stale Version -> no row.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL,
    ModifiedOn = strftime(''%Y-%m-%d %H:%M:%f'', ''now''),
    Version = Version + 1
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString AND ServiceId = @ServiceId
  AND IFNULL(GrainIdExtensionString, '''') = IFNULL(@GrainIdExtensionString, '''')
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
');

-- Used only when AdoNetGrainStorageOptions.DeleteStateOnClear is true: removes the row and
-- returns the deleted Version + 1 (what Orleans checks); stale Version -> no row.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString AND ServiceId = @ServiceId
  AND IFNULL(GrainIdExtensionString, '''') = IFNULL(@GrainIdExtensionString, '''')
  AND Version = @GrainStateVersion
RETURNING Version + 1 AS NewGrainStateVersion;
');

-- ---------------------------------------------------------------------------------------------
-- Reminders
-- ---------------------------------------------------------------------------------------------
-- StartTime is UTC text as written by Microsoft.Data.Sqlite ("yyyy-MM-dd HH:mm:ss.FFFFFFF");
-- Period is in milliseconds; GrainHash is the signed 32-bit uniform hash of the grain id.
CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    TEXT    NOT NULL,
    GrainId      TEXT    NOT NULL,
    ReminderName TEXT    NOT NULL,
    StartTime    TEXT    NOT NULL,
    Period       INTEGER NOT NULL,
    GrainHash    INTEGER NOT NULL,
    Version      INTEGER NOT NULL,
    CONSTRAINT PK_RemindersTable_ServiceId_GrainId_ReminderName PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS IX_RemindersTable_ServiceId_GrainHash ON OrleansRemindersTable (ServiceId, GrainHash);

-- Insert (Version 0) or update (Version + 1); returns the new Version (the reminder ETag).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName)
DO UPDATE SET
    StartTime = excluded.StartTime,
    Period = excluded.Period,
    GrainHash = excluded.GrainHash,
    Version = OrleansRemindersTable.Version + 1
RETURNING Version;
');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId;
');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;
');

-- Ring range (BeginHash, EndHash] when BeginHash < EndHash (compared as signed integers).
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash;
');

-- Ring range that wraps around: (BeginHash, max] and [min, EndHash].
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
');

-- Orleans reads exactly one row with one column, true when a row was deleted. SQLite cannot
-- count the rows of a DELETE in the same statement, so this is two autocommit statements (no
-- explicit transaction: nothing can be left open); changes() is per connection.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', '
DELETE FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName
  AND Version = @Version;
SELECT changes() AS Deleted;
');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId;
');

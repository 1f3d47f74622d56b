-- Regatta: PostgreSQL schema for the Orleans ADO.NET providers (invariant "Npgsql"):
-- clustering (membership), grain persistence and reminders.
--
-- Apply with deploy/postgres/init.sh "<Npgsql connection string>", which runs this file in one
-- transaction with ON_ERROR_STOP. Idempotent: CREATE ... IF NOT EXISTS, CREATE OR REPLACE FUNCTION and
-- INSERT ... ON CONFLICT DO UPDATE for the named queries, so it can run at every deployment. An advisory
-- lock serialises concurrent runs (several pods starting at once).
--
-- Contract (Orleans 10.4.2): parameter names (@Name) and result column names are read by name; unquoted
-- identifiers fold to lower case, which Npgsql matches case-insensitively. Versions are the ETags: a write
-- or clear with a stale version returns no row (grain state) or 0 (membership, reminder delete).
-- Functions carry a regatta_ prefix so they never clash with Orleans' own scripts.

SELECT pg_advisory_xact_lock(hashtext('regatta-orleans-schema'));

-- ---------------------------------------------------------------------------------------------
-- Named queries
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,
    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);

-- ---------------------------------------------------------------------------------------------
-- Clustering (membership)
-- ---------------------------------------------------------------------------------------------
-- One version row per cluster (DeploymentId = ClusterId); every membership change bumps Version.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,
    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation (address, port, generation).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes varchar(8000)  NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,
    CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- Inserts the version row once; returns 1 when inserted, 0 when it was already there.
CREATE OR REPLACE FUNCTION regatta_insert_membership_version(deployment_id varchar)
RETURNS integer
LANGUAGE plpgsql AS
$$
DECLARE
    affected integer;
BEGIN
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (deployment_id)
    ON CONFLICT (DeploymentId) DO NOTHING;
    GET DIAGNOSTICS affected = ROW_COUNT;
    RETURN affected;
END
$$;

-- Inserts a silo row and bumps the table version, both or neither: returns 1 on success, 0 when the row
-- exists or the expected version is stale (the inner block is rolled back).
CREATE OR REPLACE FUNCTION regatta_insert_membership(
    deployment_id varchar, address_arg varchar, port_arg integer, generation_arg integer,
    silo_name varchar, host_name varchar, status_arg integer, proxy_port integer,
    start_time timestamptz, i_am_alive_time timestamptz, expected_version integer)
RETURNS integer
LANGUAGE plpgsql AS
$$
DECLARE
    affected integer;
BEGIN
    BEGIN
        INSERT INTO OrleansMembershipTable
            (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
        VALUES
            (deployment_id, address_arg, port_arg, generation_arg, silo_name, host_name, status_arg, proxy_port, start_time, i_am_alive_time)
        ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected = 0 THEN
            RETURN 0;
        END IF;

        UPDATE OrleansMembershipVersionTable
        SET Timestamp = now(), Version = Version + 1
        WHERE DeploymentId = deployment_id AND Version = expected_version;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'RG001', MESSAGE = 'stale membership version';
        END IF;
        RETURN 1;
    EXCEPTION WHEN SQLSTATE 'RG001' THEN
        RETURN 0;
    END;
END
$$;

-- Bumps the table version and updates a silo row, both or neither: 1 on success, 0 otherwise.
CREATE OR REPLACE FUNCTION regatta_update_membership(
    deployment_id varchar, address_arg varchar, port_arg integer, generation_arg integer,
    status_arg integer, suspect_times varchar, i_am_alive_time timestamptz, expected_version integer)
RETURNS integer
LANGUAGE plpgsql AS
$$
DECLARE
    affected integer;
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
        SET Timestamp = now(), Version = Version + 1
        WHERE DeploymentId = deployment_id AND Version = expected_version;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected = 0 THEN
            RETURN 0;
        END IF;

        UPDATE OrleansMembershipTable
        SET Status = status_arg, SuspectTimes = suspect_times, IAmAliveTime = i_am_alive_time
        WHERE DeploymentId = deployment_id AND Address = address_arg AND Port = port_arg AND Generation = generation_arg;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'RG001', MESSAGE = 'no such membership row';
        END IF;
        RETURN 1;
    EXCEPTION WHEN SQLSTATE 'RG001' THEN
        RETURN 0;
    END;
END
$$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipVersionKey', '
SELECT regatta_insert_membership_version(@DeploymentId) AS Inserted;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipKey', '
SELECT regatta_insert_membership(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
    @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version) AS Inserted;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateMembershipKey', '
SELECT regatta_update_membership(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
    @IAmAliveTime, @Version) AS Updated;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Heartbeat: a single statement, does not touch the table version; the result is not checked.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable
SET IAmAliveTime = @IAmAliveTime
WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- The version row is returned even when the silo row does not exist (LEFT JOIN).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadRowKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
WHERE v.DeploymentId = @DeploymentId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadAllKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteMembershipTableEntriesKey', '
DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Active (Status = 3) silos with a gateway port.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('GatewaysQueryKey', '
SELECT Address, ProxyPort, Generation
FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Bulk cleanup of Dead (Status = 6) silos not heard from since @IAmAliveTime.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND IAmAliveTime < @IAmAliveTime
  AND StartTime < @IAmAliveTime
  AND COALESCE(SuspectTimes, '''') = ''''
  AND Status = 6;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Optional in Orleans 10.4.2 (used when present): removes one Dead row only if it is still exactly the
-- row the caller read, so a concurrent change keeps it.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntryKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND Status = 6
  AND Address = @Address AND Port = @Port AND Generation = @Generation
  AND IAmAliveTime = @IAmAliveTime AND StartTime = @StartTime
  AND COALESCE(SuspectTimes, '''') = COALESCE(@SuspectTimes, '''');
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- ---------------------------------------------------------------------------------------------
-- Grain persistence
-- ---------------------------------------------------------------------------------------------
-- A state is identified by (ServiceId, GrainTypeString = state name, GrainIdN0, GrainIdN1,
-- GrainIdExtensionString); the two hashes narrow the lookup. NULL and '' extensions are the same key,
-- which lets one unique index serve lookups and the single-statement upsert (no duplicate rows even when
-- two activations insert at once).
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain ON OrleansStorage
    (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, ServiceId, (COALESCE(GrainIdExtensionString, '')));

-- NULL version + no row -> 1; NULL version + row -> no row; matching version -> version + 1;
-- stale version -> no row; a version for a row that does not exist -> no row.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
INSERT INTO OrleansStorage AS s
    (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
     ServiceId, PayloadBinary, ModifiedOn, Version)
SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
       @ServiceId, @PayloadBinary, now(), 1
WHERE @GrainStateVersion IS NULL
   OR EXISTS (
        SELECT 1 FROM OrleansStorage o
        WHERE o.GrainIdHash = @GrainIdHash AND o.GrainTypeHash = @GrainTypeHash
          AND o.GrainIdN0 = @GrainIdN0 AND o.GrainIdN1 = @GrainIdN1
          AND o.GrainTypeString = @GrainTypeString AND o.ServiceId = @ServiceId
          AND COALESCE(o.GrainIdExtensionString, '''') = COALESCE(@GrainIdExtensionString, ''''))
ON CONFLICT (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, ServiceId, (COALESCE(GrainIdExtensionString, '''')))
DO UPDATE SET
    PayloadBinary = EXCLUDED.PayloadBinary,
    ModifiedOn = EXCLUDED.ModifiedOn,
    Version = s.Version + 1
WHERE s.Version = @GrainStateVersion
RETURNING s.Version AS NewGrainStateVersion;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString AND ServiceId = @ServiceId
  AND COALESCE(GrainIdExtensionString, '''') = COALESCE(@GrainIdExtensionString, '''');
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString AND ServiceId = @ServiceId
  AND COALESCE(GrainIdExtensionString, '''') = COALESCE(@GrainIdExtensionString, '''')
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Used only with AdoNetGrainStorageOptions.DeleteStateOnClear: returns the deleted version + 1.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString AND ServiceId = @ServiceId
  AND COALESCE(GrainIdExtensionString, '''') = COALESCE(@GrainIdExtensionString, '''')
  AND Version = @GrainStateVersion
RETURNING Version + 1 AS NewGrainStateVersion;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- ---------------------------------------------------------------------------------------------
-- Reminders
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    varchar(150)   NOT NULL,
    GrainId      varchar(512)   NOT NULL,
    ReminderName varchar(150)   NOT NULL,
    StartTime    timestamptz(3) NOT NULL,
    Period       bigint         NOT NULL, -- milliseconds
    GrainHash    integer        NOT NULL, -- signed 32-bit uniform hash of the grain id
    Version      integer        NOT NULL,
    CONSTRAINT PK_RemindersTable_ServiceId_GrainId_ReminderName PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS IX_RemindersTable_ServiceId_GrainHash ON OrleansRemindersTable (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable AS r (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName)
DO UPDATE SET
    StartTime = EXCLUDED.StartTime,
    Period = EXCLUDED.Period,
    GrainHash = EXCLUDED.GrainHash,
    Version = r.Version + 1
RETURNING r.Version AS Version;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- One row, one column: the number of rows deleted (read as true/false).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', '
WITH deleted AS (
    DELETE FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version
    RETURNING 1
)
SELECT COUNT(*)::integer AS Deleted FROM deleted;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- ---------------------------------------------------------------------------------------------
-- Regatta blobs (model versions, updates, optimiser state): content-addressed by SHA-256, stored here
-- in production so that every silo reads what any silo wrote (a BlobGrain may activate anywhere).
-- ---------------------------------------------------------------------------------------------
-- One row per blob: Length is fixed by the first chunk of an upload; Sealed once the bytes were checked
-- against the key. Only sealed blobs are readable.
CREATE TABLE IF NOT EXISTS regatta_blob_info
(
    hash       varchar(64) NOT NULL,
    length     bigint      NOT NULL CHECK (length > 0),
    sealed     boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_regatta_blob_info PRIMARY KEY (hash)
);

-- Chunks of BlobLimits.ChunkSize (1 MiB) bytes; the last one may be shorter.
CREATE TABLE IF NOT EXISTS regatta_blobs
(
    hash        varchar(64) NOT NULL,
    chunk_index integer     NOT NULL CHECK (chunk_index >= 0),
    data        bytea       NOT NULL,
    CONSTRAINT pk_regatta_blobs PRIMARY KEY (hash, chunk_index),
    CONSTRAINT fk_regatta_blobs_info FOREIGN KEY (hash) REFERENCES regatta_blob_info (hash) ON DELETE CASCADE
);
-- Chunks are written once and read whole; keep them out of TOAST compression (weights barely compress).
ALTER TABLE regatta_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- ---------------------------------------------------------------------------------------------
-- The dashboard's data-protection key ring (sign-in cookies, anti-forgery tokens, Blazor circuits):
-- one ring for every silo, so a request may land on any of them and a restart signs no one out.
-- Rows are ASP.NET's key XML, appended and never updated (a revocation is a row of its own).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS regatta_dataprotection_keys
(
    id            bigint GENERATED ALWAYS AS IDENTITY,
    friendly_name text        NOT NULL,
    xml           text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_regatta_dataprotection_keys PRIMARY KEY (id)
);

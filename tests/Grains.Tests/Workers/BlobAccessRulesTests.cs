using Regatta.Grains.Workers;
using Regatta.Jobs;
using Regatta.Workers;

namespace Regatta.Grains.Tests.Workers;

public sealed class BlobAccessRulesTests
{
    private static readonly string Model = new('a', 64);
    private static readonly string Base = new('b', 64);
    private static readonly string Other = new('c', 64);
    private static readonly Func<string, bool> Approved = _ => true;

    private static Assignment Job(string jobId, JobKind kind, string runId = "run-a") =>
        new() { JobId = jobId, RunId = runId, Kind = kind, ModelHash = Model, BaseModelHash = kind == JobKind.Witness ? Base : null };

    [Fact]
    public void A_worker_reads_what_its_assignments_name_and_nothing_else()
    {
        var rules = new BlobAccessRules();
        var witness = new[] { Job("w1", JobKind.Witness) };

        Assert.Null(rules.Check(Model, BlobAccess.Read, Approved, witness, null));
        Assert.Null(rules.Check(Base, BlobAccess.Read, Approved, witness, null));
        Assert.NotNull(rules.Check(Other, BlobAccess.Read, Approved, witness, null));
        Assert.NotNull(rules.Check(Model, BlobAccess.Read, Approved, [], null));
    }

    [Fact]
    public void The_served_models_parts_are_readable_only_when_given()
    {
        var rules = new BlobAccessRules();
        Assert.Null(rules.Check(Other, BlobAccess.Read, Approved, [], [Other]));
        Assert.NotNull(rules.Check(Other, BlobAccess.Read, Approved, [], null));
    }

    [Fact]
    public void A_worker_admitted_to_one_run_reads_only_that_runs_blobs()
    {
        var rules = new BlobAccessRules();
        var onlyA = (Func<string, bool>)(run => run == "run-a");

        Assert.Null(rules.Check(Model, BlobAccess.Read, onlyA, [Job("j1", JobKind.Train, "run-a")], null));
        Assert.NotNull(rules.Check(Model, BlobAccess.Read, onlyA, [Job("j2", JobKind.Train, "run-b")], null));
        Assert.NotNull(rules.Check(Other, BlobAccess.Write, onlyA, [Job("j2", JobKind.Train, "run-b")], null));
    }

    [Fact]
    public void Uploads_are_taken_only_during_a_training_job_and_bounded_per_job()
    {
        var rules = new BlobAccessRules();
        Assert.NotNull(rules.Check(Other, BlobAccess.Write, Approved, [Job("w1", JobKind.Witness)], null));

        var train = new[] { Job("t1", JobKind.Train) };
        var uploads = Enumerable.Range(0, BlobAccessRules.MaxUploadsPerJob).Select(i => i.ToString("x64")).ToList();
        Assert.All(uploads, hash => Assert.Null(rules.Check(hash, BlobAccess.Write, Approved, train, null)));
        Assert.Null(rules.Check(uploads[0], BlobAccess.Either, Approved, train, null)); // the same upload again is not a new one
        var refused = rules.Check("ff".PadLeft(64, 'e'), BlobAccess.Write, Approved, train, null);
        Assert.Contains($"{BlobAccessRules.MaxUploadsPerJob} uploads", refused);

        // The next job starts a fresh count; the closed job's is dropped.
        Assert.Null(rules.Check("ff".PadLeft(64, 'e'), BlobAccess.Write, Approved, [Job("t2", JobKind.Train)], null));
    }

    [Fact]
    public void Looking_a_blob_up_is_allowed_when_reading_or_writing_it_is()
    {
        var rules = new BlobAccessRules();
        Assert.Null(rules.Check(Model, BlobAccess.Either, Approved, [Job("w1", JobKind.Witness)], null));
        Assert.NotNull(rules.Check(Other, BlobAccess.Either, Approved, [Job("w1", JobKind.Witness)], null));
        Assert.Null(rules.Check(Other, BlobAccess.Either, Approved, [Job("t1", JobKind.Train)], null));
    }
}

using Regatta.Silo;
using Regatta.Silo.Api;
using Regatta.Silo.Blobs;

// A Regatta silo: Orleans (grains, storage, reminders) and the HTTP surface in one process.
var builder = WebApplication.CreateBuilder(args);
builder.UseRegattaDefaults();
builder.AddRegattaSilo();
builder.AddRegattaApi();
builder.AddRegattaDashboard();
builder.AddRegattaBlobs();

var app = builder.Build();
app.MapRegattaHealth();
app.MapRegattaApi();
app.MapRegattaBlobs();
app.MapRegattaMetrics();
app.MapRegattaDashboard();
app.MapCheckpointDownloads();
app.Run();

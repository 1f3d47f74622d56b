using Regatta.Silo;

// A Regatta silo: Orleans (grains, storage, reminders) and the HTTP surface in one process.
var builder = WebApplication.CreateBuilder(args);
builder.UseRegattaDefaults();
builder.AddRegattaSilo();
builder.AddRegattaApi();
builder.AddRegattaDashboard();

var app = builder.Build();
app.MapRegattaHealth();
app.MapRegattaApi();
app.MapRegattaMetrics();
app.MapRegattaDashboard();
app.Run();

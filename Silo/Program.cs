using Regatta.Silo;

// A Regatta silo: Orleans (grains, storage, reminders) and the HTTP surface in one process.
var builder = WebApplication.CreateBuilder(args);
builder.UseRegattaDefaults();
builder.AddRegattaSilo();

var app = builder.Build();
app.MapRegattaHealth();
app.Run();

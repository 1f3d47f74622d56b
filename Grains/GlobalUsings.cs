global using Orleans;
global using Orleans.Runtime;
global using Regatta.Grains.Runs;

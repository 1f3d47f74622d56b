# syntax=docker/dockerfile:1
# The Regatta silo (Orleans + REST API + dashboard), built with the .NET SDK and run on the ASP.NET runtime as the
# image's non-root user. Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t regatta-silo .
# Configuration is the environment (see docs/deploy.md): Regatta__Storage=Postgres, ConnectionStrings__Regatta,
# Regatta__AdminApiKey, Regatta__Dashboard__AdminPassword, Regatta__AdvertisedIp (the pod IP on Kubernetes).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first: the restore layer is reused until a project or the central package versions change.
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY Grains.Abstractions/Grains.Abstractions.csproj Grains.Abstractions/
COPY Learning/Learning.csproj Learning/
COPY Grains/Grains.csproj Grains/
COPY Storage/Storage.csproj Storage/
COPY Dashboard/Dashboard.csproj Dashboard/
COPY Silo/Silo.csproj Silo/
RUN dotnet restore Silo/Silo.csproj -r linux-x64
COPY Grains.Abstractions/ Grains.Abstractions/
COPY Learning/ Learning/
COPY Grains/ Grains/
COPY Storage/ Storage/
COPY Dashboard/ Dashboard/
COPY Silo/ Silo/
# Storage embeds the SQLite schema (local mode) from here.
COPY deploy/sqlite/ deploy/sqlite/
# "always": the runtime image's libstdc++ may be older than the build image's (docs/torchsharp-glibcxx.md).
# linux-x64 only: the native libraries of other platforms are left out of the image.
RUN dotnet publish Silo/Silo.csproj -c Release -r linux-x64 --self-contained false -o /app --no-restore -p:RegattaTorchSharpGlibcxxPatch=always

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl for the container health check; libgomp for libtorch's CPU kernels (the silo evaluates candidate models).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/regatta && chown "$APP_UID" /var/lib/regatta
WORKDIR /app
COPY --from=build /app .
# Listen on all interfaces (the silo's own default is 127.0.0.1:5080); DataDir holds only local files in production.
ENV ASPNETCORE_URLS=http://0.0.0.0:5080 \
    Regatta__DataDir=/var/lib/regatta
USER $APP_UID
# HTTP (API, dashboard, /healthz/*, /metrics), silo-to-silo, gateway (clients).
EXPOSE 5080 11111 30000
# Ready: this silo is Active, not shutting down, and its database answers (docs/deploy.md, Probes).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD curl -fsS http://127.0.0.1:5080/healthz/ready || exit 1
ENTRYPOINT ["dotnet", "Regatta.Silo.dll"]

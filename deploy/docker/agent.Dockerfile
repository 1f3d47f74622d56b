# syntax=docker/dockerfile:1
# The Regatta worker agent (Orleans client + TorchSharp), run as the image's non-root user. Build from the repository root:
#   docker build -f deploy/docker/agent.Dockerfile -t regatta-agent .                          # CPU libtorch
#   docker build -f deploy/docker/agent.Dockerfile --build-arg TORCH=cuda -t regatta-agent:cuda .  # CUDA libtorch, GPU nodes
# The CUDA variant swaps the TorchSharp-cpu package for TorchSharp-cuda-linux (same version), which bundles the CUDA
# libraries: the node needs only the NVIDIA driver and container toolkit. The agent finds the gateways through a silo's
# GET /api/cluster/gateways: pass --gateways-url http://SILO:5080 (or set REGATTA_GATEWAYS_URL), or list them with
# --coordinator host:port[,host:port...]. It needs no database credential.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TORCH=cpu
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY Grains.Abstractions/Grains.Abstractions.csproj Grains.Abstractions/
COPY Learning/Learning.csproj Learning/
COPY WorkerAgent/WorkerAgent.csproj WorkerAgent/
RUN case "$TORCH" in \
      cpu) ;; \
      cuda) sed -i 's/"TorchSharp-cpu"/"TorchSharp-cuda-linux"/' Directory.Packages.props Learning/Learning.csproj ;; \
      *) echo "TORCH must be cpu or cuda, not '$TORCH'" >&2; exit 2 ;; \
    esac \
    && dotnet restore WorkerAgent/WorkerAgent.csproj -r linux-x64
COPY Grains.Abstractions/ Grains.Abstractions/
COPY Learning/ Learning/
COPY WorkerAgent/ WorkerAgent/
# linux-x64 only: the native libraries of other platforms are left out of the image.
RUN dotnet publish WorkerAgent/WorkerAgent.csproj -c Release -r linux-x64 --self-contained false -o /app --no-restore -p:RegattaTorchSharpGlibcxxPatch=always

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/cache/regatta && chown "$APP_UID" /var/cache/regatta
WORKDIR /app
COPY --from=build /app .
# What the NVIDIA container toolkit mounts into a GPU container: CUDA compute and nvidia-smi, nothing else.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER $APP_UID
# Model versions the agent has downloaded; a volume here keeps them across restarts.
VOLUME /var/cache/regatta
ENTRYPOINT ["dotnet", "Regatta.WorkerAgent.dll"]
CMD ["--device", "auto", "--cache-dir", "/var/cache/regatta"]

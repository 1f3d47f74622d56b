#!/usr/bin/env bash
# The main job: a local silo (SQLite in ./data) and three worker agents train a CNN on digits split non-IID across them.
# Prints round-by-round progress, then the baselines (each agent alone, all data pooled); the last line is one JSON
# object with the run's outcome: initial_accuracy, accuracy, local_only_accuracy, centralized_accuracy, rounds, time.
set -euo pipefail
cd "$(dirname "$0")/../.."

AGENTS=${AGENTS:-3}
SPEC=${SPEC:-deploy/examples/digits-cnn.yaml}
RUN=${RUN:-demo-$(date +%Y%m%d-%H%M%S)}
DATA_DIR=${DATA_DIR:-data}
LOGS="$DATA_DIR/logs/$RUN"
TOKEN=$(sed -n 's/^joinToken: *//p' "$SPEC")
mkdir -p "$LOGS"

echo "Building (Release)..." >&2
dotnet build Silo/Silo.csproj -c Release -v quiet -nologo >&2
dotnet build WorkerAgent/WorkerAgent.csproj -c Release -v quiet -nologo >&2
SILO=Silo/bin/Release/net10.0/Regatta.Silo.dll
AGENT=WorkerAgent/bin/Release/net10.0/Regatta.WorkerAgent.dll

pids=()
# Stops processes politely (SIGTERM: agents unregister, the silo shuts down), then firmly after 20 s.
# SIGINT would not do: non-interactive bash starts background jobs with SIGINT ignored.
stop() {
  [ "$#" -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 1 40); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  kill -KILL "$@" 2>/dev/null || true
}
cleanup() {
  stop "${pids[@]:1}"
  stop "${pids[@]:0:1}"
}
trap cleanup EXIT

echo "Starting the silo (logs: $LOGS/silo.log, dashboard/API on http://127.0.0.1:5080)..." >&2
dotnet "$SILO" --Regatta:DataDir="$DATA_DIR" >"$LOGS/silo.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  if curl -sf http://127.0.0.1:5080/healthz >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then echo "The silo exited; see $LOGS/silo.log" >&2; tail -20 "$LOGS/silo.log" >&2; exit 1; fi
  sleep 0.5
done
curl -sf http://127.0.0.1:5080/healthz >/dev/null || { echo "The silo did not become healthy in 60 s" >&2; exit 1; }

# The operator commands use the REST API with the admin key: the configured one, else the one the local silo wrote.
API=http://127.0.0.1:5080
if [ -n "${Regatta__AdminApiKey:-}" ]; then export REGATTA_ADMIN_KEY="$Regatta__AdminApiKey"; KEY=(); else KEY=(--api-key-file "$DATA_DIR/admin-api-key"); fi
# The gateway is TLS only: agents pin the local silo's self-signed certificate (its SHA-256, written at start).
PIN=(--silo-cert-sha256-file "$DATA_DIR/silo-cert.sha256")
dotnet "$AGENT" submit --api "$API" "${KEY[@]}" --run "$RUN" --spec "$SPEC" --start
for i in $(seq 1 "$AGENTS"); do
  dotnet "$AGENT" --name "agent-$i" --id "$RUN-agent-$i" --run "$RUN" --join-token "$TOKEN" --device cpu \
    --cache-dir "$DATA_DIR/agents/$RUN-agent-$i" --heartbeat 2 "${PIN[@]}" >"$LOGS/agent-$i.log" 2>&1 &
  pids+=($!)
done
echo "Started $AGENTS agents (logs: $LOGS/agent-N.log); training..." >&2
dotnet "$AGENT" watch --api "$API" "${KEY[@]}" --run "$RUN" --baselines

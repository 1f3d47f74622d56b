#!/usr/bin/env bash
# Runs every test project of the solution (unit, cluster, agent end-to-end, storage, PostgreSQL, API, browser).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Orleans.sln -c Debug -nologo -v quiet
dotnet test --solution Orleans.sln --no-build --max-parallel-test-modules 2 "$@"

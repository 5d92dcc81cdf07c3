#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing, then runs every test.
#   bash build/test.sh
# The tests start their own redis-server (and a 3-node Redis Cluster, joined with redis-cli) and drive a headless
# Chromium, and publish a native AOT app. On Debian or Ubuntu (apt-get), missing ones are installed: redis-server,
# redis-tools, chromium, clang and zlib1g-dev (the AOT linker and its zlib) — as root,
# or through sudo. Elsewhere nothing is installed: install redis-server, redis-cli and chromium yourself, or point the
# tests at running servers (REDIS_URL=host:port, REDIS_CLUSTER_URL=host:port,host:port,host:port) and a browser
# (CHROMIUM_PATH=...). Then it builds the whole solution — `dotnet test` alone builds only the test projects and what
# they reference, so the samples, the README's snippets and the benchmarks would go unbuilt — and runs:
# dotnet test EventStream.sln -c Release --no-build "$@"
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
if [ -z "${REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
fi
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
# The native AOT test links with clang (Debian may have it as clang-<version> only) and zlib.
if ! command -v clang >/dev/null 2>&1 && ! compgen -G "/usr/bin/clang-[0-9]*" >/dev/null; then
  need+=(clang)
fi
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)

if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null 2>&1 && sudo="sudo" || { echo "build/test.sh: ${need[*]} missing and not root (no sudo): install them, then run again" >&2; exit 1; }
    fi
    echo "== installing ${need[*]} (apt-get)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
  else
    echo "build/test.sh: missing ${need[*]} and no apt-get here: install them (or set REDIS_URL / CHROMIUM_PATH), then run again" >&2
    exit 1
  fi
fi

dotnet build EventStream.sln -c Release
exec dotnet test EventStream.sln -c Release --no-build "$@"

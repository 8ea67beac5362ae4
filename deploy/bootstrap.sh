#!/usr/bin/env bash
# Install what the workspace needs on a fresh machine, once; fast when all is there.
#   - uv (the one installer of this workspace), pinned, into the devstack cache if not on PATH
#   - the Python workspace from uv.lock (uv sync --frozen)
#   - docker-compose (Debian's package) for validating docker-compose.yml, when we are root
# Kafka, FerretDB and stripe-mock are installed by `devstack up` itself (cached).
# Prints the path of the uv binary on its last line.
set -euo pipefail

UV_VERSION=0.13.9
cache="${XDG_CACHE_HOME:-$HOME/.cache}/buybutton-devstack"
say() { echo "bootstrap: $*" >&2; }

if command -v uv >/dev/null 2>&1; then
  uv=$(command -v uv)
elif [ -x "$cache/uv/bin/uv" ]; then
  uv="$cache/uv/bin/uv"
else
  command -v python3 >/dev/null || { say "python3 not found: install Python 3.11+"; exit 2; }
  say "installing uv $UV_VERSION into $cache/uv"
  python3 -m venv "$cache/uv"
  "$cache/uv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  uv="$cache/uv/bin/uv"
fi

"$uv" sync --frozen --quiet >&2

if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing docker-compose (Debian package) to validate docker-compose.yml"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >&2
  else
    say "docker-compose not found: the compose-file test will be skipped (apt-get install docker-compose)"
  fi
fi

echo "$uv"

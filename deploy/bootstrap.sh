#!/usr/bin/env bash
# Install what the workspace needs on a fresh machine, once; fast when nothing changed.
#   - uv, pinned, into the devstack cache when it is not on PATH
#   - .venv with exactly the pinned third-party packages of requirements.lock (hash-checked),
#     plus this repository's own packages (shared, devstack, the services) as editable installs
#   - docker-compose (Debian's package) for validating docker-compose.yml, when we are root
# Kafka, SecantusDB and stripe-mock are installed by `devstack up` itself (cached).
set -euo pipefail
cd "$(dirname "$0")/.."

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

members=(shared deploy/devstack services/*)
stamp=.venv/.installed
want=$(cat requirements.lock "${members[@]/%//pyproject.toml}" | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing the Python workspace into .venv (requirements.lock)"
  [ -x .venv/bin/python ] || "$uv" venv --quiet --python ">=3.11" .venv
  "$uv" pip sync --quiet --python .venv/bin/python --require-hashes requirements.lock
  editable=()
  for member in "${members[@]}"; do editable+=(-e "$member"); done
  "$uv" pip install --quiet --python .venv/bin/python --no-deps "${editable[@]}"
  echo "$want" > "$stamp"
fi

if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing docker-compose (Debian package) to validate docker-compose.yml"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >&2
  else
    say "docker-compose not found: the compose-file test will be skipped (apt-get install docker-compose)"
  fi
fi

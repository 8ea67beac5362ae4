# The image of any one service, built with the repository root as context, e.g.
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=vault-service \
#     --build-arg ENV_PREFIX=VAULT_ --build-arg PORT=8003 -t buybutton/vault-service .
# (docker-compose.yml passes these for each service: `docker compose build vault-service`.)
# The build stage installs only that service and buybutton-shared into a virtual environment,
# every third-party package at the version and hash pinned by requirements.lock; the runtime
# stage gets that environment and nothing else, and runs the service as a non-root user.

FROM python:3.11-slim AS build
ARG SERVICE

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never

RUN pip install "uv==0.13.9"

WORKDIR /src
COPY requirements.lock ./
COPY shared ./shared
COPY services/${SERVICE} ./services/${SERVICE}
# The lock serves as constraints: only these two packages' dependencies are installed, each at
# its pinned version and checked against its hashes. --no-sources installs the copied folders
# themselves rather than editable workspace links back into /src.
RUN test -n "${SERVICE}" \
    && uv venv /app/.venv \
    && uv pip install --python /app/.venv/bin/python --no-sources --strict \
       --constraints requirements.lock ./shared ./services/${SERVICE} \
    && ln -s "/app/.venv/bin/${SERVICE}" /app/service


FROM python:3.11-slim
ARG ENV_PREFIX
ARG PORT

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:${PATH}" \
    ${ENV_PREFIX}HTTP_HOST=0.0.0.0

# /var/lib/buybutton: the one folder a service may keep files in (the vault's key store), owned
# by the service's user so that a volume mounted there starts out writable by it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/buybutton

# Same path and same interpreter as in the build stage, so the environment works as copied.
COPY --from=build /app /app

USER 10001:10001
WORKDIR /app
EXPOSE ${PORT}
CMD ["/app/service"]

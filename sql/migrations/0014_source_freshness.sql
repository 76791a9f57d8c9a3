-- dbt source freshness of raw.users, checked by the transform pipeline's source_freshness task:
-- one row per check. And a warning on a task try: a task that succeeded but has something to
-- say (freshness past warn_after) says it here, and `deno task status` shows it.
create table meta.source_freshness (
  check_id text primary key check (check_id ~ '^[0-9A-HJKMNP-TV-Z]{26}$'),
  ds date,
  source text not null,
  status text not null check (status in ('pass', 'warn', 'error', 'runtime error')),
  max_loaded_at timestamptz,
  age_seconds double precision,
  warn_after_seconds integer not null,
  error_after_seconds integer not null,
  checked_at timestamptz not null default now()
);

comment on table meta.source_freshness is
  'One row per dbt source freshness check: the newest _loaded_at of the source, its age, and pass/warn/error against warn_after and error_after.';

create index source_freshness_checked_idx on meta.source_freshness (source, checked_at desc);

alter table meta.task_tries add column warning text;

comment on column meta.task_tries.warning is
  'What a try that succeeded warns of (its last "warning:" line), e.g. data past its freshness warn_after.';

-- meta.alerts: every webhook alert the pipeline decided to send (ALERT_WEBHOOK_URL), with what it
-- said and whether it arrived. The row is written before the POST, under a lock per pipeline, so
-- a restarted scheduler, a second process or a retried run sees that an outcome was told already
-- and does not tell it again; `randomuser_elt_alerts_failed_total` counts the rows that failed.
create table meta.alerts (
  alert_id text primary key check (alert_id ~ '^[0-9A-HJKMNP-TV-Z]{26}$'),
  kind text not null check (kind in ('failure', 'recovery', 'warning', 'stale')),
  pipeline text not null,
  ds date,
  run_id text references meta.pipeline_runs (run_id),
  state text not null default 'sending' check (state in ('sending', 'sent', 'failed')),
  tries integer not null default 0,
  error text,
  body jsonb not null,
  created_at timestamptz not null default clock_timestamp(),
  finished_at timestamptz
);

comment on table meta.alerts is
  'One row per webhook alert: a failed run, a recovery, a warning (source freshness), stale data; state says whether it was delivered.';
comment on column meta.alerts.ds is
  'The run''s logical date (failure, recovery, warning), or the UTC day the data was found stale (stale).';
comment on column meta.alerts.body is
  'The JSON body as posted (secrets removed).';

create index alerts_pipeline_idx on meta.alerts (pipeline, kind, created_at desc);
create index alerts_failed_idx on meta.alerts (state) where state = 'failed';

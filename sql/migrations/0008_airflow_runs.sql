-- Runs started by Apache Airflow (pipelines/airflow/): the trigger 'airflow', and the id of
-- Airflow's DAG run, so that every try Airflow makes of a task lands in the same ledger run.
alter table meta.pipeline_runs drop constraint pipeline_runs_trigger_check;
alter table meta.pipeline_runs add constraint pipeline_runs_trigger_check
  check (trigger in ('schedule', 'manual', 'backfill', 'catchup', 'airflow'));

alter table meta.pipeline_runs add column external_run_id text;

comment on column meta.pipeline_runs.external_run_id is
  'The run id of the scheduler that started this run (Airflow''s dag run id); null for runs of the Deno scheduler and CLI.';

create unique index pipeline_runs_external_run_idx on meta.pipeline_runs (pipeline, external_run_id)
  where external_run_id is not null;

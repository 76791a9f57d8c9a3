-- Why a try or a run failed, by class, so the runner retries only what a retry can heal and
-- `deno task status` shows it: transient (exit 1, retried), usage (exit 2), terminal (exit 3),
-- timeout (the runner stopped a task past its time limit, retried), stopped (a stop signal:
-- never retried), upstream (transform before its extract_load), orphaned (its process died).
alter table meta.task_tries add column failure text
  check (failure in ('transient', 'usage', 'terminal', 'timeout', 'stopped', 'orphaned'));
alter table meta.pipeline_runs add column failure text
  check (failure in ('transient', 'usage', 'terminal', 'timeout', 'stopped', 'upstream', 'orphaned'));

comment on column meta.task_tries.failure is
  'Class of a failed try: transient, usage, terminal, timeout, stopped or orphaned; null when it succeeded.';
comment on column meta.pipeline_runs.failure is
  'Class of the failure that ended a failed run (its last try''s, or stopped, upstream, orphaned).';

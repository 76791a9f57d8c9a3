-- What each try printed, kept in the ledger for the console's run page: its stdout and stderr as
-- they came, line by line with secrets redacted, bounded (the first and the last lines, with a
-- marker for what was left out). The try's log file (task_tries.log_path) keeps all of it, on the
-- host that ran it; this copy reaches the console wherever the try ran. A table of its own, so
-- the scans behind the overview and /metrics never read it.
create table meta.task_try_output (
  run_id text not null,
  task text not null,
  try_number integer not null,
  output text not null,
  primary key (run_id, task, try_number),
  foreign key (run_id, task, try_number) references meta.task_tries (run_id, task, try_number)
);

comment on table meta.task_try_output is
  'What a task try printed (stdout and stderr), redacted and bounded to about 64 kB; none for tries recorded before it was kept.';

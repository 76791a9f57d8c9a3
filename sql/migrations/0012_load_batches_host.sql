-- The host that made each batch, beside its file: with workers that share no disk (Airflow's
-- CeleryExecutor), a load that does not find its ds's CSV says where the file was written and
-- what became of its batch. Batches recorded before this were loaded where the ledger ran.
alter table meta.load_batches add column host text;

comment on column meta.load_batches.host is
  'The host of the process that loaded (or failed to load) the batch; null for batches before migration 0012.';

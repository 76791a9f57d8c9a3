-- What the incremental transform needs to follow raw.users batch by batch (issue 28).
--
-- raw.user_deletions: the users a vouched reload removed from raw.users (its file no longer has
-- them), one row per removal, written in the load's transaction. dbt's incremental marts remove
-- them too: a MERGE only inserts and updates, so without this a mart would keep them for ever.
create table raw.user_deletions (
  id uuid not null,
  _ds date not null,
  _batch_id text not null,
  _deleted_at timestamptz not null default now()
);

comment on table raw.user_deletions is
  'Users a vouched reload removed from raw.users, one row per removal; written only by deno task load.';
comment on column raw.user_deletions.id is 'The removed user''s id (raw.users.id).';
comment on column raw.user_deletions._ds is 'The ds whose reload no longer delivered the user.';
comment on column raw.user_deletions._batch_id is 'ULID of the load batch (meta.load_batches) that removed it.';

create index user_deletions_batch_idx on raw.user_deletions (_batch_id);

-- meta.transformed_batches: the load batches every incremental mart has taken in, written by
-- dbt at the end of a build in which every one of them was built (dbt_project's on-run-end).
-- The next build takes in the succeeded batches that are not here, whatever their ds.
create table meta.transformed_batches (
  batch_id text primary key,
  invocation_id text not null,
  built_at timestamptz not null default now()
);

comment on table meta.transformed_batches is
  'Load batches the incremental marts have taken in (one row each), written by the dbt build that did.';

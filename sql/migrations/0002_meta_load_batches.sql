-- meta.load_batches: one row per load attempt of a CSV into raw.users, successful or not.
create table meta.load_batches (
  batch_id text primary key check (batch_id ~ '^[0-9A-HJKMNP-TV-Z]{26}$'),
  ds date not null,
  file text not null,
  status text not null check (status in ('succeeded', 'failed')),
  rows_in_file bigint check (rows_in_file >= 0),
  bytes bigint check (bytes >= 0),
  sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
  inserted bigint check (inserted >= 0),
  updated bigint check (updated >= 0),
  deleted bigint check (deleted >= 0),
  unchanged bigint check (unchanged >= 0),
  duplicates bigint check (duplicates >= 0),
  error text,
  started_at timestamptz not null,
  finished_at timestamptz not null
);

comment on table meta.load_batches is
  'One row per load of a landing-zone CSV into raw.users; failed loads changed nothing in raw.';

create index load_batches_ds_idx on meta.load_batches (ds, finished_at desc);

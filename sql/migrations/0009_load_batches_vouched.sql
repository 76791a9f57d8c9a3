-- Whether the manifest beside the CSV vouched for it (rows, bytes, SHA-256, columns, ds). Only a
-- vouched file may delete rows of its ds; a hand-made one (deno task load --unvouched) may not.
-- Batches recorded before manifests existed were all loaded as vouched files are now.
alter table meta.load_batches add column vouched boolean not null default true;

comment on column meta.load_batches.vouched is
  'True when the file''s manifest vouched for it; false for a load with --unvouched (never deletes).';

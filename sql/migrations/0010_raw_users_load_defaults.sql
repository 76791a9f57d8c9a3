-- A ds's first load COPYs straight into raw.users (as fast as psql \copy), and COPY fills only
-- the columns the file has: the load metadata comes from settings the load's transaction sets
-- (set_config(..., true), so they end with it). Where they are not set, the defaults fail with
-- "unrecognized configuration parameter": no row ever gets a made-up _ds or _batch_id.
alter table raw.users
  alter column _ds set default current_setting('randomuser_elt.load_ds')::date,
  alter column _batch_id set default current_setting('randomuser_elt.batch_id'),
  alter column _loaded_at set default now();

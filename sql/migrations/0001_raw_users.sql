-- raw.users: one row per Random User (keyed by login.uuid), every API field as the API sent it,
-- flattened with "_", typed, plus the metadata of the load that last wrote it.
create schema if not exists raw;

create table raw.users (
  id uuid generated always as (login_uuid) stored primary key,
  gender text,
  name_title text,
  name_first text,
  name_last text,
  location_street_number integer,
  location_street_name text,
  location_city text,
  location_state text,
  location_country text,
  location_postcode text,
  location_coordinates_latitude numeric,
  location_coordinates_longitude numeric,
  location_timezone_offset text,
  location_timezone_description text,
  email text,
  login_uuid uuid not null,
  login_username text,
  login_password text,
  login_salt text,
  login_md5 text,
  login_sha1 text,
  login_sha256 text,
  dob_date timestamptz,
  dob_age integer,
  registered_date timestamptz,
  registered_age integer,
  phone text,
  cell text,
  id_name text,
  id_value text,
  picture_large text,
  picture_medium text,
  picture_thumbnail text,
  nat text,
  _ds date not null,
  _batch_id text not null,
  _loaded_at timestamptz not null
);

comment on table raw.users is
  'One row per Random User (id = login_uuid), as the API sent it; written only by deno task load.';
comment on column raw.users._ds is 'Logical date whose extract last delivered this user.';
comment on column raw.users._batch_id is 'ULID of the load batch (meta.load_batches) that last changed this row.';
comment on column raw.users._loaded_at is 'When that batch committed.';

create index users_ds_idx on raw.users (_ds);

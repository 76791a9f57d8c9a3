-- No column the analyst role can read, in any schema (whatever this target's schema is), is a
-- credential or personal data: a password, salt or hash, a name, email, username, phone, cell,
-- national id or picture URL. It runs after every mart is built (the refs below), so it judges
-- this build's marts, not what an earlier version left.
-- depends_on: {{ ref('as_of_date') }}
-- depends_on: {{ ref('dim_age_group') }}
-- depends_on: {{ ref('dim_birth_date') }}
-- depends_on: {{ ref('dim_date') }}
-- depends_on: {{ ref('dim_gender') }}
-- depends_on: {{ ref('dim_geography') }}
-- depends_on: {{ ref('dim_load_date') }}
-- depends_on: {{ ref('dim_nationality') }}
-- depends_on: {{ ref('dim_registration_date') }}
-- depends_on: {{ ref('dim_user') }}
-- depends_on: {{ ref('dim_user_age') }}
-- depends_on: {{ ref('fct_load_batches') }}
-- depends_on: {{ ref('fct_registrations') }}
select
    namespaces.nspname as schema_name,
    relations.relname as relation_name,
    columns.attname as column_name
from pg_catalog.pg_attribute as columns
join pg_catalog.pg_class as relations on relations.oid = columns.attrelid
join pg_catalog.pg_namespace as namespaces on namespaces.oid = relations.relnamespace
where relations.relkind in ('r', 'v', 'm', 'p', 'f')
  and columns.attnum > 0
  and not columns.attisdropped
  and namespaces.nspname not in ('pg_catalog', 'information_schema')
  and namespaces.nspname !~ '^pg_'
  and has_column_privilege('analyst', relations.oid, columns.attnum, 'select')
  and columns.attname ~* '(password|salt|md5|sha1|sha256|hash|first_name|last_name|full_name|email|username|phone|(^|_)cell(_|$)|national_id|picture)'

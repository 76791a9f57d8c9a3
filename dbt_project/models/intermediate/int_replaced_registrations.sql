-- The registrations this build replaces or removes, as they stand before it: the users its load
-- batches changed or removed that fct_registrations holds already. Their places and genders are
-- the only ones that can lose their last user, so dim_geography and dim_gender look only at these
-- (macros/incremental_marts.sql: remove_unreferenced). It reads fct_registrations before that is
-- built (by name, not ref: fct_registrations comes after it); nothing on a first build or with
-- --full-refresh, when every dimension is built whole.
{{ config(post_hook='analyze {{ this }}') }}
-- depends_on: {{ ref('int_build_batches') }}
-- depends_on: {{ ref('stg_randomuser__users') }}
-- depends_on: {{ source('randomuser', 'user_deletions') }}
{%- set registrations = load_relation(model_relation('fct_registrations')) if execute else none %}

{%- if registrations is not none and not flags.FULL_REFRESH %}
with touched as (
    {{ users_this_build_touched() }}
)

select registrations.user_id, registrations.geography_key, registrations.gender_key
from {{ registrations }} as registrations
where registrations.user_id in (select user_id from touched)
{%- else %}
select null::uuid as user_id, null::text as geography_key, null::text as gender_key
where false
{%- endif %}

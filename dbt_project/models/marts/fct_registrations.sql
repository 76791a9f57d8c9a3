-- One row per registration: a user registering, on the day the API says, keyed to every
-- dimension by what never changes (the user's uuid, the nationality code, the gender, the place,
-- the UTC day). Keys are computed here as the dimensions compute them, so a relationships test
-- finds a value no dimension holds (a nationality the seed lacks, a day off the calendar).
--
-- Incremental, as dim_user: a build merges the registrations of the users its load batches last
-- changed and removes those of the users they removed (macros/incremental_marts.sql). Each
-- dimension key is indexed: its relationships test walks the index, and the dimensions find
-- whether a place or a gender still has a registration by it.
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='user_id',
    on_schema_change='fail',
    pre_hook="{{ merge_by_index() }}",
    post_hook=[
        "{{ remove_deleted_users() }}",
        "{{ ensure_indexes(['registration_date_key', 'birth_date_key', 'nationality_key', 'gender_key', 'geography_key']) }}"
    ]
) }}
-- depends_on: {{ ref('int_build_batches') }}
-- depends_on: {{ ref('int_replaced_registrations') }}

with users as (
    select * from {{ ref('stg_randomuser__users') }}
    {%- if is_incremental() %}
    where {{ in_this_build() }}
    {%- endif %}
)

select
    user_id,
    {{ date_key(utc_date('registered_at')) }} as registration_date_key,
    {{ date_key(utc_date('born_at')) }} as birth_date_key,
    {{ surrogate_key(['nat_code']) }} as nationality_key,
    {{ surrogate_key([gender_or_unknown('gender')]) }} as gender_key,
    {{ surrogate_key(['country', 'state', 'city']) }} as geography_key,
    load_batch_id,
    registered_at,
    1 as registrations
from users

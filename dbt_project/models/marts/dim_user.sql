-- One row per user: the days that never change (birth, registration) from which ages are computed
-- as of a date (dim_user_age), and the API's own ages kept as audit columns. No credentials and no
-- personal data (names, email, username, phone, cell, national id, pictures): those stay in raw
-- and staging, which only the pipeline role reads.
--
-- Incremental: a build merges the users its load batches last changed (a user a later ds
-- delivered again moves to that ds; one an older ds's reload delivered moves back) and removes
-- the users they removed (macros/incremental_marts.sql). Indexed by load_date (this build's rows,
-- for the per-row tests) and by the two days (the earliest and latest, for the age range test).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='user_id',
    on_schema_change='fail',
    pre_hook="{{ merge_by_index() }}",
    post_hook=[
        "{{ remove_deleted_users() }}",
        "{{ ensure_indexes(['load_date', 'birth_date', 'registration_date']) }}"
    ]
) }}
-- depends_on: {{ ref('int_build_batches') }}

with users as (
    select * from {{ ref('stg_randomuser__users') }}
    {%- if is_incremental() %}
    where {{ in_this_build() }}
    {%- endif %}
)

select
    user_id,
    title,
    {{ utc_date('born_at') }} as birth_date,
    {{ utc_date('registered_at') }} as registration_date,
    load_date,
    load_batch_id,
    {{ utc_date('loaded_at') }} as loaded_on,
    age as api_age,
    years_registered as api_years_registered
from users

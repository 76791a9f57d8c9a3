-- One row per gender: those of the genders seed (the API's two, and "unknown" for a missing
-- value), and any other value the API sends.
--
-- Incremental: a build merges the seed's rows and the genders of the users its load batches last
-- changed, then removes an observed gender no registration refers to any more (built after
-- fct_registrations for that).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='gender_key',
    on_schema_change='fail',
    pre_hook="{{ merge_by_index() }}",
    post_hook="{{ remove_unreferenced('gender_key', seed='genders', seed_column='gender') }}"
) }}
-- depends_on: {{ ref('int_build_batches') }}
-- depends_on: {{ ref('fct_registrations') }}
-- depends_on: {{ ref('int_replaced_registrations') }}

with genders as (
    select * from {{ ref('genders') }}
),

observed as (
    select distinct {{ gender_or_unknown('gender') }} as gender
    from {{ ref('stg_randomuser__users') }}
    {%- if is_incremental() %}
    where {{ in_this_build() }}
    {%- endif %}
),

all_genders as (
    select
        coalesce(genders.gender, observed.gender) as gender,
        coalesce(genders.label, initcap(observed.gender)) as label,
        coalesce(genders.sort_order, 50) as sort_order
    from genders
    full outer join observed on observed.gender = genders.gender
)

select
    {{ surrogate_key(['gender']) }} as gender_key,
    gender,
    label,
    sort_order
from all_genders

-- One row per place users live in: country, state, city (street, postcode, coordinates and time
-- zone stay in staging). Keyed by the place's names, so the key of a place never changes.
--
-- Incremental: a build adds the places of the users its load batches last changed, then removes
-- the places no registration refers to any more (built after fct_registrations for that).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='geography_key',
    on_schema_change='fail',
    pre_hook="{{ merge_by_index() }}",
    post_hook="{{ remove_unreferenced('geography_key') }}"
) }}
-- depends_on: {{ ref('int_build_batches') }}
-- depends_on: {{ ref('fct_registrations') }}
-- depends_on: {{ ref('int_replaced_registrations') }}

with places as (
    select distinct country, state, city
    from {{ ref('stg_randomuser__users') }}
    {%- if is_incremental() %}
    where {{ in_this_build() }}
    {%- endif %}
)

select
    {{ surrogate_key(['country', 'state', 'city']) }} as geography_key,
    country,
    state,
    city
from places

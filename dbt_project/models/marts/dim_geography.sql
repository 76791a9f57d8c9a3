-- One row per place users live in: country, state, city (street, postcode, coordinates and time
-- zone stay in staging). Keyed by the place's names, so the key of a place never changes.
with places as (
    select distinct country, state, city
    from {{ ref('stg_randomuser__users') }}
)

select
    {{ surrogate_key(['country', 'state', 'city']) }} as geography_key,
    country,
    state,
    city
from places

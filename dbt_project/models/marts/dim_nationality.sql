-- One row per nationality the API serves, from the nationalities seed.
with nationalities as (
    select * from {{ ref('nationalities') }}
)

select
    {{ surrogate_key(['nat_code']) }} as nationality_key,
    nat_code,
    country,
    iso_alpha3,
    region,
    subregion
from nationalities

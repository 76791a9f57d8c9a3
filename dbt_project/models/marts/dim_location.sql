-- One row per distinct address (street, city, state, country, postcode, coordinates, time zone).
with users as (
    select * from {{ ref('stg_randomuser__users') }}
),

locations as (
    select distinct {{ location_columns() | join(', ') }}
    from users
),

with_offset as (
    select
        *,
        -- "+5:45" → 345, "-3:30" → -210, "0:00" → 0; anything else → NULL.
        case
            when timezone_offset ~ '^[+-]?[0-9]{1,2}:[0-9]{2}$' then
                (case when left(timezone_offset, 1) = '-' then -1 else 1 end)
                * (
                    split_part(ltrim(timezone_offset, '+-'), ':', 1)::integer * 60
                    + split_part(ltrim(timezone_offset, '+-'), ':', 2)::integer
                )
        end as utc_offset_minutes
    from locations
)

select
    {{ surrogate_key(location_columns()) }} as location_key,
    street_number,
    street_name,
    city,
    state,
    country,
    postcode,
    latitude,
    longitude,
    timezone_offset,
    utc_offset_minutes,
    timezone_description
from with_offset

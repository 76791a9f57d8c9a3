-- A city is a city in its state (there are several Springfields); the 10 with the most users,
-- and any tied with the tenth.
with counts as (
    select
        places.city,
        places.state,
        places.country,
        sum(registrations.registrations) as users
    from {{ ref('fct_registrations') }} as registrations
    join {{ ref('dim_geography') }} as places on places.geography_key = registrations.geography_key
    group by places.city, places.state, places.country
),

ranked as (
    select *, rank() over (order by users desc) as place
    from counts
)

select city, state, country, users
from ranked
where place <= 10
order by users desc, country, state, city

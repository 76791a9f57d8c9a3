-- The 10 countries with the most users, and any tied with the tenth (rank, not an arbitrary cut).
with counts as (
    select
        places.country,
        sum(registrations.registrations) as users
    from {{ ref('fct_registrations') }} as registrations
    join {{ ref('dim_geography') }} as places on places.geography_key = registrations.geography_key
    group by places.country
),

ranked as (
    select *, rank() over (order by users desc) as place
    from counts
)

select country, users
from ranked
where place <= 10
order by users desc, country

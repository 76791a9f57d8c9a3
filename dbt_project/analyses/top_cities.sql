select
    locations.city,
    locations.country,
    count(*) as users
from {{ ref('fct_users') }} as facts
join {{ ref('dim_location') }} as locations on locations.location_key = facts.location_key
group by locations.city, locations.country
order by users desc, locations.city, locations.country
limit 10

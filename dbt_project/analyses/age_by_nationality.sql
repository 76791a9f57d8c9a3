select
    nationalities.country,
    round(avg(ages.age), 1) as average_age,
    percentile_cont(0.5) within group (order by ages.age) as median_age,
    count(*) as users
from {{ ref('fct_registrations') }} as registrations
join {{ ref('dim_user_age') }} as ages on ages.user_id = registrations.user_id
join {{ ref('dim_nationality') }} as nationalities on nationalities.nationality_key = registrations.nationality_key
group by nationalities.country
order by average_age desc, nationalities.country

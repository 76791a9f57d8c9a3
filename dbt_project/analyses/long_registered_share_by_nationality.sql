select
    nationalities.country,
    count(*) filter (where ages.is_registered_10_years) as registered_10_years,
    count(*) as users,
    round(100.0 * count(*) filter (where ages.is_registered_10_years) / count(*), 1) as share_pct
from {{ ref('fct_registrations') }} as registrations
join {{ ref('dim_user_age') }} as ages on ages.user_id = registrations.user_id
join {{ ref('dim_nationality') }} as nationalities on nationalities.nationality_key = registrations.nationality_key
group by nationalities.country
order by share_pct desc, nationalities.country

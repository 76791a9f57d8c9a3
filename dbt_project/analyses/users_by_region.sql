select
    nationalities.region,
    sum(registrations.registrations) as users
from {{ ref('fct_registrations') }} as registrations
join {{ ref('dim_nationality') }} as nationalities on nationalities.nationality_key = registrations.nationality_key
group by nationalities.region
order by users desc, nationalities.region

with counts as (
    select
        nationalities.country,
        genders.label as gender,
        sum(registrations.registrations) as users
    from {{ ref('fct_registrations') }} as registrations
    join {{ ref('dim_nationality') }} as nationalities on nationalities.nationality_key = registrations.nationality_key
    join {{ ref('dim_gender') }} as genders on genders.gender_key = registrations.gender_key
    group by nationalities.country, genders.label
)

select
    country,
    gender,
    users,
    round(100.0 * users / sum(users) over (partition by country), 1) as share_pct
from counts
order by country, gender

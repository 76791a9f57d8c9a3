select
    nationalities.country,
    count(*) filter (where facts.is_registered_10_years) as registered_10_years,
    count(*) as users,
    round(100.0 * count(*) filter (where facts.is_registered_10_years) / count(*), 1) as share_pct
from {{ ref('fct_users') }} as facts
join {{ ref('dim_nationality') }} as nationalities on nationalities.nationality_key = facts.nationality_key
group by nationalities.country
order by share_pct desc, nationalities.country

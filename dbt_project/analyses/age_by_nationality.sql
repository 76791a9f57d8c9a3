select
    nationalities.country,
    round(avg(facts.age), 1) as average_age,
    percentile_cont(0.5) within group (order by facts.age) as median_age,
    count(*) as users
from {{ ref('fct_users') }} as facts
join {{ ref('dim_nationality') }} as nationalities on nationalities.nationality_key = facts.nationality_key
group by nationalities.country
order by average_age desc, nationalities.country

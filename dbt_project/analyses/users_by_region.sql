select
    nationalities.region,
    count(*) as users
from {{ ref('fct_users') }} as facts
join {{ ref('dim_nationality') }} as nationalities on nationalities.nationality_key = facts.nationality_key
group by nationalities.region
order by users desc, nationalities.region

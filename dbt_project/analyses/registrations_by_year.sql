select
    dates.year as registration_year,
    count(*) as users
from {{ ref('fct_users') }} as facts
join {{ ref('dim_date') }} as dates on dates.date_key = facts.registration_date_key
group by dates.year
order by dates.year

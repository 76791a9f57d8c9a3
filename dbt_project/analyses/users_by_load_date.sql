select
    dates.date_day as load_date,
    count(*) as users
from {{ ref('fct_users') }} as facts
join {{ ref('dim_date') }} as dates on dates.date_key = facts.load_date_key
group by dates.date_day
order by dates.date_day

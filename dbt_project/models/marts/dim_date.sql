-- A calendar with one row per day, from the earliest birth date to the latest load date; it
-- plays three roles in fct_users (birth, registration and load date).
with users as (
    select * from {{ ref('stg_randomuser__users') }}
),

bounds as (
    select
        least(min({{ utc_date('born_at') }}), min({{ utc_date('registered_at') }}), min(load_date))
            as first_day,
        greatest(max({{ utc_date('born_at') }}), max({{ utc_date('registered_at') }}), max(load_date))
            as last_day
    from users
),

days as (
    select day::date as date_day
    from bounds
    cross join generate_series(bounds.first_day, bounds.last_day, interval '1 day') as day
)

select
    {{ date_key('date_day') }} as date_key,
    date_day,
    extract(year from date_day)::integer as year,
    extract(quarter from date_day)::integer as quarter,
    extract(month from date_day)::integer as month,
    trim(to_char(date_day, 'Month')) as month_name,
    extract(day from date_day)::integer as day_of_month,
    extract(isodow from date_day)::integer as iso_day_of_week,
    trim(to_char(date_day, 'Day')) as day_name,
    extract(isodow from date_day) in (6, 7) as is_weekend,
    (extract(year from date_day)::integer / 10) * 10 as decade
from days

-- Every age and every years-registered of dim_user_age (as of as_of_date) lies within 0-150: a
-- birth or registration day after the latest load date, or one that makes an age past 150, fails.
-- An age is monotone in the day it counts from, so the earliest and latest birth and registration
-- days decide for every user: four lookups in dim_user's indexes, whatever the history holds,
-- instead of computing every user's age on each build.
with as_of as (
    select as_of_date from {{ ref('as_of_date') }}
),

extreme_days as (
    select 'earliest birth' as day_name, (select min(birth_date) from {{ ref('dim_user') }}) as day
    union all
    select 'latest birth', (select max(birth_date) from {{ ref('dim_user') }})
    union all
    select 'earliest registration', (select min(registration_date) from {{ ref('dim_user') }})
    union all
    select 'latest registration', (select max(registration_date) from {{ ref('dim_user') }})
),

years as (
    select
        extreme_days.day_name,
        extreme_days.day,
        as_of.as_of_date,
        {{ whole_years('extreme_days.day', 'as_of.as_of_date') }} as years
    from extreme_days
    cross join as_of
    where extreme_days.day is not null
)

select *
from years
where years < 0 or years > 150

-- Each user's age, age band and years registered as of as_of_date, computed when read (a view):
-- nothing is frozen into a row that a later build would not touch.
{{ config(materialized='view') }}

with users as (
    select user_id, birth_date, registration_date from {{ ref('dim_user') }}
),

as_of as (
    select as_of_date from {{ ref('as_of_date') }}
),

ages as (
    select
        users.user_id,
        as_of.as_of_date,
        {{ whole_years('users.birth_date', 'as_of.as_of_date') }} as age,
        {{ whole_years('users.registration_date', 'as_of.as_of_date') }} as years_registered
    from users
    cross join as_of
)

select
    user_id,
    as_of_date,
    age,
    {{ age_group_key('age') }} as age_group_key,
    years_registered,
    years_registered >= 10 as is_registered_10_years
from ages

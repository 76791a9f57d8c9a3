-- One row per user per load date, keyed to every dimension, with the measures the business
-- asked for: age, years registered (and the 10-year flag derived from it).
with users as (
    select * from {{ ref('stg_randomuser__users') }}
),

keyed as (
    select
        {{ surrogate_key(['user_id', 'load_date']) }} as user_load_key,
        {{ surrogate_key(['user_id']) }} as user_key,
        {{ surrogate_key(['nat_code']) }} as nationality_key,
        {{ surrogate_key(["coalesce(gender, 'unknown')"]) }} as gender_key,
        least(floor(age / 10.0), 10)::integer as age_group_key,
        {{ surrogate_key(location_columns()) }} as location_key,
        {{ date_key(utc_date('born_at')) }} as birth_date_key,
        {{ date_key(utc_date('registered_at')) }} as registration_date_key,
        {{ date_key('load_date') }} as load_date_key,
        load_date,
        age,
        years_registered,
        years_registered >= 10 as is_registered_10_years
    from users
)

select * from keyed

-- One row per user per load date, keyed to every dimension, with the measures the business
-- asked for: age, years registered (and the 10-year flag derived from it). Each key is looked up
-- in its dimension by what it stands for (the user id, the nationality code, the address, the
-- day, the band an age falls in), never computed here, so the fact and a dimension cannot
-- disagree; a user no dimension row matches gets a NULL key, which the contract refuses.
with users as (
    select
        *,
        ({{ location_columns() | join(', ') }}) as address
    from {{ ref('stg_randomuser__users') }}
),

user_keys as (
    select user_key, user_id from {{ ref('dim_user') }}
),

nationalities as (
    select nationality_key, nat_code from {{ ref('dim_nationality') }}
),

genders as (
    select gender_key, gender from {{ ref('dim_gender') }}
),

age_groups as (
    select age_group_key, min_age, max_age from {{ ref('dim_age_group') }}
),

-- An address is compared as one composite value: PostgreSQL then holds two NULL fields equal
-- (unlike `(a, b) = (c, d)` between row constructors), and can merge-join on it.
locations as (
    select
        location_key,
        ({{ location_columns() | join(', ') }}) as address
    from {{ ref('dim_location') }}
),

dates as (
    select date_key, date_day from {{ ref('dim_date') }}
),

keyed as (
    select
        {{ surrogate_key(['users.user_id', 'users.load_date']) }} as user_load_key,
        user_keys.user_key,
        nationalities.nationality_key,
        genders.gender_key,
        age_groups.age_group_key,
        locations.location_key,
        birth_dates.date_key as birth_date_key,
        registration_dates.date_key as registration_date_key,
        load_dates.date_key as load_date_key,
        users.load_date,
        users.age,
        users.years_registered,
        users.years_registered >= 10 as is_registered_10_years
    from users
    left join user_keys on user_keys.user_id = users.user_id
    left join nationalities on nationalities.nat_code = users.nat_code
    left join genders on genders.gender = {{ gender_or_unknown('users.gender') }}
    left join age_groups
        on users.age >= age_groups.min_age
        and (users.age <= age_groups.max_age or age_groups.max_age is null)
    left join locations on locations.address = users.address
    left join dates as birth_dates on birth_dates.date_day = {{ utc_date('users.born_at') }}
    left join dates as registration_dates
        on registration_dates.date_day = {{ utc_date('users.registered_at') }}
    left join dates as load_dates on load_dates.date_day = users.load_date
)

select * from keyed

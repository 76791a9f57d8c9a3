with by_year as (
    select
        dates.registration_year,
        sum(registrations.registrations) as registrations
    from {{ ref('fct_registrations') }} as registrations
    join {{ ref('dim_registration_date') }} as dates
        on dates.registration_date_key = registrations.registration_date_key
    group by dates.registration_year
),

years as (
    select generate_series(min(registration_year), max(registration_year)) as registration_year
    from by_year
)

select
    years.registration_year,
    coalesce(by_year.registrations, 0) as registrations
from years
left join by_year on by_year.registration_year = years.registration_year
order by years.registration_year

-- A fixed calendar, 1900-01-01 to 2100-12-31: one row per day, whatever the data holds (a birth
-- or registration date outside it fails the range tests, not a silently huge calendar). It plays
-- three roles through dim_birth_date, dim_registration_date and dim_load_date.
--
-- Built once: it never changes, so a build that finds it adds nothing (an incremental model whose
-- later runs select no row) instead of generating 73 414 days again. A change to it here needs
-- `deno task transform --full-refresh`.
{{ config(materialized='incremental', on_schema_change='fail') }}
with days as (
    select day::date as date_day
    from generate_series(date '1900-01-01', date '2100-12-31', interval '1 day') as day
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
{%- if is_incremental() %}
where false
{%- endif %}

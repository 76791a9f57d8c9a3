-- Ten-year age bands 0-9 … 90-99 and 100+; one row per band. Built once, as dim_date.
{{ config(materialized='incremental', on_schema_change='fail') }}
with bands as (
    select band::integer as band
    from generate_series(0, 10) as band
)

select
    band as age_group_key,
    case when band = 10 then '100+' else (band * 10) || '-' || (band * 10 + 9) end as age_group,
    band * 10 as min_age,
    case when band = 10 then null else band * 10 + 9 end as max_age,
    band as sort_order
from bands
{%- if is_incremental() %}
where false
{%- endif %}

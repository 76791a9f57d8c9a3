{#- dim_date in one role (birth, registration, load): every column named for the role, so a
    Metabase user sees `birth_year` beside `registration_year`, never two columns called `year`. -#}
{% macro date_role(role) -%}
select
    date_key as {{ role }}_date_key,
    date_day as {{ role }}_date,
    year as {{ role }}_year,
    quarter as {{ role }}_quarter,
    month as {{ role }}_month,
    month_name as {{ role }}_month_name,
    decade as {{ role }}_decade
from {{ ref('dim_date') }}
{%- endmacro %}

{#- The UTC calendar day of a timestamptz, whatever the session time zone. -#}
{% macro utc_date(column) -%}
  ({{ column }} at time zone 'UTC')::date
{%- endmacro %}

{#- A date as the integer key of dim_date: 2026-01-31 → 20260131. -#}
{% macro date_key(date_expression) -%}
  to_char({{ date_expression }}, 'YYYYMMDD')::integer
{%- endmacro %}

{#- Whole years from the day `since` to the day `as_of` (an age on a birthday counts the new year). -#}
{% macro whole_years(since, as_of) -%}
  date_part('year', age({{ as_of }}::date, {{ since }}::date))::integer
{%- endmacro %}

{#- The dim_age_group band of an age: 0 for 0-9 … 9 for 90-99, 10 for 100 and over. -#}
{% macro age_group_key(age) -%}
  least({{ age }} / 10, 10)
{%- endmacro %}

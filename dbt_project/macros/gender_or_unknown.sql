{#- A user's gender as dim_gender names it: the genders seed's "unknown" when the API sent none. -#}
{% macro gender_or_unknown(column) -%}
  coalesce({{ column }}, 'unknown')
{%- endmacro %}

{#- A deterministic surrogate key: md5 of the columns as text, NULL-safe, '|'-separated. -#}
{% macro surrogate_key(columns) -%}
  md5(concat_ws('|', {% for column in columns -%}
    coalesce(cast({{ column }} as text), '∅'){% if not loop.last %}, {% endif %}
  {%- endfor %}))
{%- endmacro %}

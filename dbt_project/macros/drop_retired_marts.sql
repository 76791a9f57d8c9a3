{#- Drops the marts an earlier version of the project built and this one no longer does, so a
    warehouse built by it rebuilds without a manual step and the analyst reads nothing stale
    (dbt leaves a relation of a removed model in place). Run by on-run-start. -#}
{% macro drop_retired_marts() -%}
  {%- if execute -%}
    {%- set schema = generate_schema_name('analytics', none) -%}
    {%- for name in ['fct_users', 'dim_location'] -%}
      {%- set relation = adapter.get_relation(database=target.database, schema=schema, identifier=name) -%}
      {%- if relation is not none -%}
        {{ log('dropping the retired mart ' ~ relation, info=true) }}
        {%- do adapter.drop_relation(relation) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}

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

{#- Drops an incremental mart whose table lacks a column its contract declares (built by an
    earlier version, as a table of all users): dbt then builds it whole, and incrementally from
    there. Run by on-run-start. -#}
{% macro drop_outdated_incremental_marts() -%}
  {%- if execute -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
      {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
      {%- if relation is not none -%}
        {%- set held = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {%- set lacking = node.columns.keys() | reject('in', held) | list -%}
        {%- if lacking -%}
          {{ log('rebuilding ' ~ relation ~ ' whole: it lacks ' ~ (lacking | join(', ')), info=true) }}
          {%- do adapter.drop_relation(relation) -%}
        {%- endif -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}

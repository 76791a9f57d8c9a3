{#- The incremental marts (issue 28). A build takes in the load batches of int_build_batches:
    each incremental mart merges the rows those batches last changed (in_this_build) and removes
    the users they removed (remove_deleted_users); once every incremental mart is built and
    nothing failed, on-run-end records the batches in meta.transformed_batches
    (record_transformed_batches), and the next build takes in only the batches after them. A
    failed build records nothing: its retry takes in the same batches again (a MERGE by key
    changes nothing the second time). -#}

{#- The rows of a staging model (load_date, load_batch_id) that this build's batches last
    changed. The load_date condition lets PostgreSQL find them through the index on
    raw.users(_ds), whatever the history holds. -#}
{% macro in_this_build(alias=none) -%}
  {%- set column = (alias ~ '.') if alias else '' -%}
  {{ column }}load_date in (select load_date from {{ ref('int_build_batches') }})
  and {{ column }}load_batch_id in (select batch_id from {{ ref('int_build_batches') }})
{%- endmacro %}

{#- Post-hook of a mart keyed by user_id: removes the users this build's batches removed from
    raw.users, unless a batch brought them back (then the MERGE has their new row). -#}
{% macro remove_deleted_users() -%}
  delete from {{ this }} as mart
  using {{ source('randomuser', 'user_deletions') }} as removed
  where removed.id = mart.user_id
    and removed._batch_id in (select batch_id from {{ ref('int_build_batches') }})
    and not exists (
      select 1 from {{ source('randomuser', 'users') }} as users where users.id = removed.id)
{%- endmacro %}

{#- Post-hook of a dimension whose rows the users bring (a place, a gender): removes the rows no
    registration refers to any more (the last user of a place moved away or was removed), so the
    dimension holds what a full rebuild would; a row of `seed` (matched on `seed_column`) stays
    whatever the users hold. An index on the fact's `key` makes it a lookup per dimension row. -#}
{% macro remove_unreferenced(key, seed=none, seed_column=none) -%}
  delete from {{ this }} as dim
  where not exists (
      select 1 from {{ ref('fct_registrations') }} as fact where fact.{{ key }} = dim.{{ key }})
  {%- if seed %}
    and dim.{{ seed_column }} not in (select {{ seed_column }} from {{ ref(seed) }})
  {%- endif %}
{%- endmacro %}

{#- The relation of int_build_batches, for code that runs outside the model graph (on-run-end,
    a test's where). -#}
{% macro build_batches_relation() -%}
  {%- set node = graph.nodes.values() | selectattr('name', 'equalto', 'int_build_batches') | first -%}
  {%- do return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) -%}
{%- endmacro %}

{#- on-run-end (the SQL it runs, in a transaction of its own): records this build's batches as
    taken in, when every incremental mart (and int_build_batches) was built by this invocation
    and no node failed or was skipped. -#}
{% macro record_transformed_batches(results) -%}
  {%- if execute -%}
    {%- set built = [] -%}
    {%- set failed = [] -%}
    {%- for result in results -%}
      {%- if result.status in ('error', 'fail', 'skipped', 'runtime error') -%}
        {%- do failed.append(result.node.name) -%}
      {%- elif result.node.resource_type == 'model' -%}
        {%- do built.append(result.node.name) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- set needed = ['int_build_batches'] -%}
    {%- for node in graph.nodes.values() -%}
      {%- if node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
        {%- do needed.append(node.name) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- set missing = needed | reject('in', built) | list -%}
    {%- if failed or missing -%}
      {{ log('load batches not recorded as transformed: ' ~ ((failed | length) ~ ' node(s) failed' if failed else 'not built: ' ~ (missing | join(', '))), info=true) }}
      select 1
    {%- else -%}
      insert into {{ source('meta', 'transformed_batches') }} (batch_id, invocation_id)
      select batch_id, '{{ invocation_id }}' from {{ build_batches_relation() }}
      on conflict (batch_id) do nothing
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{#- A test's `where: this_build` checks only the rows this build's batches last changed (the
    per-row tests); any other `where` is dbt's. The model must have load_date and load_batch_id
    (staging, dim_user), and an index that finds a load_date's rows. -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if where == 'this_build' -%}
    {%- set batches = build_batches_relation() -%}
    {%- set where = 'load_date in (select load_date from ' ~ batches ~ ') and load_batch_id in (select batch_id from ' ~ batches ~ ')' -%}
  {%- endif -%}
  {%- if where -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}

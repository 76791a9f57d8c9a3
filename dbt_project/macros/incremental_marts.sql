{#- The incremental marts (issue 28). A build takes in the load batches of int_build_batches:
    each incremental mart merges the rows those batches last changed (in_this_build) and removes
    the users they removed (remove_deleted_users); once every incremental mart is built and
    nothing failed, on-run-end records the batches in meta.transformed_batches
    (record_transformed_batches), and the next build takes in only the batches after them. A
    failed build records nothing: its retry takes in the same batches again (a MERGE by key
    changes nothing the second time). -#}

{#- The rows of a model with load_date and load_batch_id (staging, dim_user) that this build's
    batches last changed. `= any(array(…))`, not `in (select …)`: the batches' few days become an
    array once, so PostgreSQL finds their rows through the index on load_date (raw.users(_ds)),
    whatever the history holds, instead of scanning it to filter. -#}
{% macro in_this_build(alias=none) -%}
  {{ this_build_condition(ref('int_build_batches'), alias) }}
{%- endmacro %}

{#- With --full-refresh every batch is this build's: every row, with no condition to evaluate. -#}
{% macro this_build_condition(batches, alias=none) -%}
  {%- set column = (alias ~ '.') if alias else '' -%}
  {%- if flags.FULL_REFRESH -%}
  true
  {%- else -%}
  {{ column }}load_date = any(array(select load_date from {{ batches }}))
  and {{ column }}load_batch_id = any(array(select batch_id from {{ batches }}))
  {%- endif -%}
{%- endmacro %}

{#- The deletions of raw.user_deletions that this build's batches made (`alias` qualifies them). -#}
{% macro removed_in_this_build(alias=none) -%}
  {%- set column = (alias ~ '.') if alias else '' -%}
  {{ column }}_batch_id = any(array(select batch_id from {{ ref('int_build_batches') }}))
{%- endmacro %}

{#- The ids of the users this build's batches wrote or removed: the rows of the user grain the
    build changes (a query; each id once per change). -#}
{% macro users_this_build_touched() -%}
    select user_id from {{ ref('stg_randomuser__users') }}
    where {{ in_this_build() }}
    union all
    select id from {{ source('randomuser', 'user_deletions') }}
    where {{ removed_in_this_build() }}
{%- endmacro %}

{#- Pre-hook of an incremental mart, in its transaction: its MERGE (and its post-hooks) look the
    build's rows up by the target's indexes. PostgreSQL's default costs hash the whole target
    instead (a sequential scan of every user, 0.8 s at 1.3 million against 0.37 s by index, and
    growing with the history). A full build is left to the planner. No JIT: the penalty those
    settings put on a plan's cost would make PostgreSQL compile every statement (0.5 s for three
    genders). -#}
{% macro merge_by_index() -%}
  {%- if is_incremental() -%}
    set local enable_hashjoin = off;
    set local enable_mergejoin = off;
    set local jit = off
  {%- endif -%}
{%- endmacro %}

{#- Post-hook: an index on each column of `columns` (one column each) unless the table has one —
    dbt's `indexes` config indexes a table only when it builds it whole, and a full refresh here
    builds none: it is as fast as a build of tables (its tests scan), and the next build indexes
    the table once (about a second per index at 1.3 million users). -#}
{% macro ensure_indexes(columns) -%}
  {%- if flags.FULL_REFRESH -%}
  select 1 -- a full refresh builds no index: the next build does, once
  {%- else -%}
  {%- for column in columns %}
  do $$
  begin
    if not exists (
      select 1 from pg_index as i
      join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
      where i.indrelid = '{{ this }}'::regclass and i.indnkeyatts = 1 and a.attname = '{{ column }}'
    ) then
      execute 'create index on {{ this }} ({{ column }})';
    end if;
  end
  $$;
  {%- endfor %}
  {%- endif %}
{%- endmacro %}

{#- Post-hook of a mart keyed by user_id: removes the users this build's batches removed from
    raw.users, unless a batch brought them back (then the MERGE has their new row). -#}
{% macro remove_deleted_users() -%}
  delete from {{ this }} as mart
  using {{ source('randomuser', 'user_deletions') }} as removed
  where removed.id = mart.user_id
    and {{ removed_in_this_build('removed') }}
    and not exists (
      select 1 from {{ source('randomuser', 'users') }} as users where users.id = removed.id)
{%- endmacro %}

{#- Post-hook of a dimension whose rows the users bring (a place, a gender): removes the rows
    no registration refers to any more, so the dimension holds what a full rebuild would. Only a
    registration this build replaced or removed can have been the last of its row
    (int_replaced_registrations), so only those rows are looked up, by the index on the fact's
    `key`; a row of `seed` (matched on `seed_column`) stays whatever the users hold. -#}
{% macro remove_unreferenced(key, seed=none, seed_column=none) -%}
  delete from {{ this }} as dim
  where dim.{{ key }} = any(array(select {{ key }} from {{ ref('int_replaced_registrations') }}))
    and not exists (
      select 1 from {{ ref('fct_registrations') }} as fact where fact.{{ key }} = dim.{{ key }})
  {%- if seed %}
    and dim.{{ seed_column }} not in (select {{ seed_column }} from {{ ref(seed) }})
  {%- endif %}
{%- endmacro %}

{#- The relation of a model by name, for code that must not make it a parent (the model is built
    after the caller, or the caller runs outside the model graph: on-run-end, a test's where). -#}
{% macro model_relation(name) -%}
  {%- if not execute -%}{%- do return(none) -%}{%- endif -%}
  {%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | selectattr('name', 'equalto', name) | first -%}
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
      select batch_id, '{{ invocation_id }}' from {{ model_relation('int_build_batches') }}
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
    {%- set where = this_build_condition(model_relation('int_build_batches')) -%}
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

{#- Generic test: every value of `column_name` in the whole model is a `field` of `to` — dbt's
    relationships, on the distinct values rather than the rows. The values are walked through the
    model's index on the column (a loose index scan: one lookup per distinct value, each the next
    value after the last), and each is looked up in `to`; so it costs the distinct values (21
    nationalities, a few thousand days, the places), not the rows, and stays whole. The model
    needs an index on the column; with --full-refresh (no index yet) it is one scan. -#}
{% test relationships_by_index(model, column_name, to, field) %}
{%- if flags.FULL_REFRESH %}
-- A full refresh indexes nothing (macros/incremental_marts.sql: ensure_indexes): one scan.
select distinct child.{{ column_name }} as from_field
from {{ model }} as child
where child.{{ column_name }} is not null
  and not exists (select 1 from {{ to }} as parent where parent.{{ field }} = child.{{ column_name }})
{%- else %}
with recursive child_values as (
    (
        select {{ column_name }} as child_value
        from {{ model }}
        where {{ column_name }} is not null
        order by {{ column_name }}
        limit 1
    )
    union all
    select (
        select {{ column_name }}
        from {{ model }}
        where {{ column_name }} > child_values.child_value
        order by {{ column_name }}
        limit 1
    )
    from child_values
    where child_values.child_value is not null
)

select child_values.child_value as from_field
from child_values
where child_values.child_value is not null
  and not exists (
    select 1 from {{ to }} as parent where parent.{{ field }} = child_values.child_value)
{%- endif %}
{% endtest %}

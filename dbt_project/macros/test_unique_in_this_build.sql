{#- Generic test: no key of the rows this build's load batches changed occurs twice in the whole
    model. Each key is looked up by the model's index on it (raw.users' primary key under the
    staging view), so it costs the build's rows, not the history's; as every row is some build's,
    the whole model stays unique. With --full-refresh, every key is counted (a hash aggregate). -#}
{% test unique_in_this_build(model, column_name) %}
select {{ column_name }} as duplicated_key, count(*) as occurrences
from {{ model }}
{%- if not flags.FULL_REFRESH %}
where {{ column_name }} = any(array(
    select {{ column_name }} from {{ model }}
    where {{ this_build_condition(model_relation('int_build_batches')) }}))
{%- endif %}
group by {{ column_name }}
having count(*) > 1
{% endtest %}

-- Every user loaded for a ds is in fct_users under that load date, and nothing else is.
with raw_counts as (
    select _ds as load_date, count(*) as users
    from {{ source('randomuser', 'users') }}
    group by 1
),

fact_counts as (
    select load_date, count(*) as users
    from {{ ref('fct_users') }}
    group by 1
)

select
    coalesce(raw_counts.load_date, fact_counts.load_date) as load_date,
    raw_counts.users as raw_users,
    fact_counts.users as fact_rows
from raw_counts
full outer join fact_counts on fact_counts.load_date = raw_counts.load_date
where raw_counts.users is distinct from fact_counts.users

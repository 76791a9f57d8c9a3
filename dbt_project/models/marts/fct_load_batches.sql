-- One row per load batch (meta.load_batches): the rows a ds's extract delivered and what the load
-- did with them. The newest succeeded batch of a ds says how many users that ds delivered.
with batches as (
    select * from {{ ref('stg_meta__load_batches') }}
),

latest as (
    select distinct on (load_date) batch_id
    from batches
    where status = 'succeeded'
    order by load_date, finished_at desc, batch_id desc
)

select
    batches.batch_id,
    {{ date_key('batches.load_date') }} as load_date_key,
    batches.load_date,
    batches.status,
    batches.vouched,
    latest.batch_id is not null as is_latest_for_ds,
    batches.rows_delivered,
    batches.inserted,
    batches.updated,
    batches.deleted,
    batches.unchanged,
    batches.duplicates,
    batches.started_at,
    batches.finished_at
from batches
left join latest on latest.batch_id = batches.batch_id

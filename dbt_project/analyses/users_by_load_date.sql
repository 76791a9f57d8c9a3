select
    dates.load_date,
    batches.rows_delivered as users,
    batches.inserted,
    batches.updated,
    batches.deleted
from {{ ref('fct_load_batches') }} as batches
join {{ ref('dim_load_date') }} as dates on dates.load_date_key = batches.load_date_key
where batches.is_latest_for_ds
order by dates.load_date

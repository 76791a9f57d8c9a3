-- The load batches renamed; one row per batch. The file, host and error stay in meta.
with source as (
    select * from {{ source('meta', 'load_batches') }}
),

renamed as (
    select
        batch_id,
        ds as load_date,
        status,
        vouched,
        rows_in_file as rows_delivered,
        inserted,
        updated,
        deleted,
        unchanged,
        duplicates,
        started_at,
        finished_at
    from source
)

select * from renamed

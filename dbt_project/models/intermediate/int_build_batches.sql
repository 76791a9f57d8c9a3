-- The load batches this build takes in: every succeeded batch no build has taken in yet
-- (meta.transformed_batches), whatever ds it loaded and in whatever order the loads came; with
-- --full-refresh, every succeeded batch (the marts are rebuilt from all of raw.users, and the
-- per-row tests check every row). A row of raw.users is stamped with the batch that last changed
-- it, and its _ds is that batch's ds, so (load_date, batch_id) finds a batch's rows by the index
-- on _ds.
-- Analyzed once built: the marts' plans then know it holds a few rows (a lookup by the index).
{{ config(post_hook='analyze {{ this }}') }}

with batches as (
    select * from {{ ref('stg_meta__load_batches') }}
    where status = 'succeeded'
),

built as (
    select * from {{ source('meta', 'transformed_batches') }}
)

select
    batches.batch_id,
    batches.load_date
from batches
{%- if not flags.FULL_REFRESH %}
where not exists (select 1 from built where built.batch_id = batches.batch_id)
{%- endif %}

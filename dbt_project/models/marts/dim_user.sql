-- One row per user: who they are as the business asked about them. No credentials and no personal
-- data (names, email, username, phone, cell, national id, pictures): those stay in raw and
-- staging, which only the pipeline role reads.
with users as (
    select * from {{ ref('stg_randomuser__users') }}
)

select
    {{ surrogate_key(['user_id']) }} as user_key,
    user_id,
    title
from users

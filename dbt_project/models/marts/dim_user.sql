-- One row per user: who they are. No credentials (they never leave staging).
with users as (
    select * from {{ ref('stg_randomuser__users') }}
)

select
    {{ surrogate_key(['user_id']) }} as user_key,
    user_id,
    title,
    first_name,
    last_name,
    concat_ws(' ', first_name, last_name) as full_name,
    email,
    username,
    phone,
    cell,
    national_id_name,
    national_id_value,
    picture_large,
    picture_medium,
    picture_thumbnail
from users

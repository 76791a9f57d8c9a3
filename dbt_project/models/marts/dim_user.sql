-- One row per user: the days that never change (birth, registration) from which ages are computed
-- as of a date (dim_user_age), and the API's own ages kept as audit columns. No credentials and no
-- personal data (names, email, username, phone, cell, national id, pictures): those stay in raw
-- and staging, which only the pipeline role reads.
with users as (
    select * from {{ ref('stg_randomuser__users') }}
)

select
    user_id,
    title,
    {{ utc_date('born_at') }} as birth_date,
    {{ utc_date('registered_at') }} as registration_date,
    load_date,
    {{ utc_date('loaded_at') }} as loaded_on,
    age as api_age,
    years_registered as api_years_registered
from users

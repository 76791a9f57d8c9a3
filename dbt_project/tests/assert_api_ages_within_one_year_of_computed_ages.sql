-- The API's ages (kept as audit columns) and ours, both as of the day the user was extracted,
-- differ by at most one year (the API counts from the instant of birth, we from its UTC day).
-- More than that means our age arithmetic, or the extract's data, is wrong.
-- A per-row check: it reads the users this build's load batches last changed (the index on
-- dim_user's load_date finds them), every user with --full-refresh.
with users as (
    select * from {{ ref('dim_user') }}
    where {{ in_this_build() }}
),

computed as (
    select
        user_id,
        loaded_on,
        api_age,
        {{ whole_years('birth_date', 'loaded_on') }} as age,
        api_years_registered,
        {{ whole_years('registration_date', 'loaded_on') }} as years_registered
    from users
)

select *
from computed
where abs(api_age - age) > 1
   or abs(api_years_registered - years_registered) > 1

-- The day every age in the star is computed as of: the latest logical date that delivered a user
-- still in raw.users. The data decides it, not the ds a build ran for, so a build covers every ds
-- loaded before it began, and a backfill of an old date never ages the users backwards. A max()
-- alone, so PostgreSQL reads it from the index on raw.users(_ds), whatever the history holds.
with users as (
    select * from {{ ref('stg_randomuser__users') }}
),

latest as (
    select max(load_date) as as_of_date
    from users
)

select
    as_of_date,
    {{ date_key('as_of_date') }} as as_of_date_key
from latest
where as_of_date is not null

-- The day every age in the star is computed as of: the latest logical date that delivered a user
-- still in raw.users (dim_user's load_date is its _ds). The data decides it, not the ds a build
-- ran for, so a build covers every ds loaded before it began, and a backfill of an old date never
-- ages the users backwards. A max() alone, read from dim_user's index on load_date: one lookup,
-- whatever the history holds.
with latest as (
    select (select max(load_date) from {{ ref('dim_user') }}) as as_of_date
)

select
    as_of_date,
    {{ date_key('as_of_date') }} as as_of_date_key
from latest
where as_of_date is not null

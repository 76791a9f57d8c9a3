-- Every registration has its user in dim_user. Both marts hold one row per user of raw.users and
-- change together, so the rows to check are those this build changed: the registrations of the
-- users its load batches wrote (looked up by fct_registrations' primary key) and those of the
-- users they removed (gone from both, or this fails). A registration no build touched keeps the
-- user it was checked with. With --full-refresh, every registration (an anti-join).
with touched as (
    {{ users_this_build_touched() }}
)

select registrations.user_id
from {{ ref('fct_registrations') }} as registrations
where
  {%- if not flags.FULL_REFRESH %} registrations.user_id = any(array(select user_id from touched)) and
  {%- endif %} not exists (
    select 1 from {{ ref('dim_user') }} as users where users.user_id = registrations.user_id)

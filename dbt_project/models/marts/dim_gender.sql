-- One row per gender: those of the genders seed (the API's two, and "unknown" for a missing
-- value), and any other value the API sends.
with genders as (
    select * from {{ ref('genders') }}
),

observed as (
    select distinct {{ gender_or_unknown('gender') }} as gender
    from {{ ref('stg_randomuser__users') }}
),

all_genders as (
    select
        coalesce(genders.gender, observed.gender) as gender,
        coalesce(genders.label, initcap(observed.gender)) as label,
        coalesce(genders.sort_order, 50) as sort_order
    from genders
    full outer join observed on observed.gender = genders.gender
)

select
    {{ surrogate_key(['gender']) }} as gender_key,
    gender,
    label,
    sort_order
from all_genders

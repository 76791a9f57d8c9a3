-- One row per gender: the API's two, "unknown" for a missing value, and any new value it sends.
with known as (
    select gender, label, sort_order
    from (values
        ('female', 'Female', 1),
        ('male', 'Male', 2),
        ('unknown', 'Unknown', 99)
    ) as known (gender, label, sort_order)
),

observed as (
    select distinct coalesce(gender, 'unknown') as gender
    from {{ ref('stg_randomuser__users') }}
),

genders as (
    select
        coalesce(known.gender, observed.gender) as gender,
        coalesce(known.label, initcap(observed.gender)) as label,
        coalesce(known.sort_order, 50) as sort_order
    from known
    full outer join observed on observed.gender = known.gender
)

select
    {{ surrogate_key(['gender']) }} as gender_key,
    gender,
    label,
    sort_order
from genders

select
    age_groups.age_group,
    genders.label as gender,
    count(*) as users
from {{ ref('fct_registrations') }} as registrations
join {{ ref('dim_user_age') }} as ages on ages.user_id = registrations.user_id
join {{ ref('dim_age_group') }} as age_groups on age_groups.age_group_key = ages.age_group_key
join {{ ref('dim_gender') }} as genders on genders.gender_key = registrations.gender_key
group by age_groups.age_group, age_groups.sort_order, genders.label
order by age_groups.sort_order, genders.label

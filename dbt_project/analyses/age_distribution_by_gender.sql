select
    age_groups.age_group,
    genders.label as gender,
    count(*) as users
from {{ ref('fct_users') }} as facts
join {{ ref('dim_age_group') }} as age_groups on age_groups.age_group_key = facts.age_group_key
join {{ ref('dim_gender') }} as genders on genders.gender_key = facts.gender_key
group by age_groups.age_group, age_groups.sort_order, genders.label
order by age_groups.sort_order, genders.label

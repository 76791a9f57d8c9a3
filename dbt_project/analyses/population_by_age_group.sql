select
    age_groups.age_group,
    count(ages.user_id) as users
from {{ ref('dim_age_group') }} as age_groups
left join {{ ref('dim_user_age') }} as ages on ages.age_group_key = age_groups.age_group_key
where age_groups.age_group_key < 10
group by age_groups.age_group, age_groups.sort_order
order by age_groups.sort_order

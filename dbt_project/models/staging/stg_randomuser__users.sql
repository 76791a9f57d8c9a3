-- Renamed and typed users; one row per user. Credentials (password, salt, md5, sha1, sha256)
-- stop here: they are not selected, so nothing downstream can carry them.
-- Its per-row tests read the rows of this build's load batches (where: this_build), so the view
-- comes after int_build_batches:
-- depends_on: {{ ref('int_build_batches') }}
with source as (
    select * from {{ source('randomuser', 'users') }}
),

renamed as (
    select
        id as user_id,
        _ds as load_date,
        _batch_id as load_batch_id,
        _loaded_at as loaded_at,
        nullif(gender, '') as gender,
        name_title as title,
        name_first as first_name,
        name_last as last_name,
        email,
        login_username as username,
        phone,
        cell,
        nullif(id_name, '') as national_id_name,
        id_value as national_id_value,
        upper(nat) as nat_code,
        location_street_number as street_number,
        location_street_name as street_name,
        location_city as city,
        location_state as state,
        location_country as country,
        location_postcode as postcode,
        location_coordinates_latitude as latitude,
        location_coordinates_longitude as longitude,
        location_timezone_offset as timezone_offset,
        location_timezone_description as timezone_description,
        dob_date as born_at,
        dob_age as age,
        registered_date as registered_at,
        registered_age as years_registered,
        picture_large,
        picture_medium,
        picture_thumbnail
    from source
)

select * from renamed

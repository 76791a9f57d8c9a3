-- dim_date in the registration-date role, every column prefixed with registration_ (a view).
{{ config(materialized='view') }}

{{ date_role('registration') }}

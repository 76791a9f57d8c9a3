-- dim_date in the birth-date role, every column prefixed with birth_ (a view).
{{ config(materialized='view') }}

{{ date_role('birth') }}

-- dim_date in the load-date role, every column prefixed with load_ (a view).
{{ config(materialized='view') }}

{{ date_role('load') }}

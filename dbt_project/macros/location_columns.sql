{#- The columns that identify an address: dim_location's grain and the input of location_key,
    in dim_location and fct_users alike (one list, so the keys cannot drift apart). -#}
{% macro location_columns() -%}
  {{ return([
    'street_number', 'street_name', 'city', 'state', 'country', 'postcode',
    'latitude', 'longitude', 'timezone_offset', 'timezone_description'
  ]) }}
{%- endmacro %}

-- No relation in the analytics schema has a column for a password, a salt or a hash.
select table_name, column_name
from information_schema.columns
where table_schema = '{{ target.schema }}'
  and column_name ~* '(password|salt|md5|sha1|sha256|hash)'

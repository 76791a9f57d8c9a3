-- The analyst role: reads the marts (schema analytics) and nothing else. Metabase and the report
-- use it. It is a NOLOGIN role here; `deno task migrate` gives it a login when ANALYST_PASSWORD
-- is set (a password never lives in a migration). Roles are per server, so this is idempotent.
do $$
begin
  if not exists (select from pg_roles where rolname = 'analyst') then
    create role analyst nologin;
  end if;
end
$$;

create schema if not exists analytics;

do $$
begin
  execute format('grant connect on database %I to analyst', current_database());
end
$$;
grant usage on schema analytics to analyst;
grant select on all tables in schema analytics to analyst;
-- dbt rebuilds the marts on every run; tables it creates later are readable too.
alter default privileges in schema analytics grant select on tables to analyst;

-- Nothing else: no usage on raw, meta or staging, no create anywhere.
revoke all on schema raw, meta from analyst;

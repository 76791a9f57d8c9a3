-- The analyst role must write nowhere, temporary tables included: PostgreSQL grants TEMPORARY on
-- every database to PUBLIC, so the pipeline's role gets it explicitly and PUBLIC loses it.
do $$
begin
  execute format('grant temporary on database %I to %I', current_database(), current_user);
  execute format('revoke temporary on database %I from public', current_database());
end
$$;

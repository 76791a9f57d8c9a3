-- Run once by the postgres image when the warehouse volume is created (docker compose only):
-- Metabase keeps its application data in this database of the warehouse server, not in H2.
create database metabase;

#!/bin/sh
# PostgreSQL init script for docker-compose.yml's db service: a role and a database of their own
# for Rasa's conversation tracker (endpoints.production.yml), so Rasa never holds the repairs
# database's credentials and the repairs service never sees the conversations.
#
# The postgres image runs it once, when the db volume is first initialised. On a database made
# before this script existed, run it once by hand:
#   docker compose exec db sh /docker-entrypoint-initdb.d/10-rasa-tracker.sh
#
# The image may source this file rather than execute it, so it sets no shell options of its own;
# psql's ON_ERROR_STOP makes any failure fail the initialisation.
psql -v ON_ERROR_STOP=1 --no-psqlrc \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    -v tracker_db="${RASA_TRACKER_DB:-rasa}" \
    -v tracker_user="${RASA_TRACKER_DB_USER:-rasa}" \
    -v tracker_password="${RASA_TRACKER_DB_PASSWORD:?set RASA_TRACKER_DB_PASSWORD}" <<'SQL'
CREATE ROLE :"tracker_user" LOGIN PASSWORD :'tracker_password';
CREATE DATABASE :"tracker_db" OWNER :"tracker_user";
REVOKE ALL ON DATABASE :"tracker_db" FROM PUBLIC;
SQL

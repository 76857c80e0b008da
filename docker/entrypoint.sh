#!/bin/sh
# Entrypoint for the repairs service image.
#
# Brings the database schema up to date, then hands over to the container's command
# (by default `python -m repairs serve ...`, see the Dockerfile's CMD) with `exec`, so
# that the server becomes PID 1 and receives SIGTERM from `docker stop` directly.
#
# Set REPAIRS_SKIP_MIGRATIONS=1 to start without migrating, for example for a one-off
# `docker compose run --rm repairs python -m repairs db current`.
set -eu

if [ "${REPAIRS_SKIP_MIGRATIONS:-0}" != "1" ]; then
    echo "entrypoint: applying database migrations (python -m repairs db upgrade)" >&2
    python -m repairs db upgrade
fi

exec "$@"

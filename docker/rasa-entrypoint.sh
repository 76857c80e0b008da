#!/bin/sh
# Entrypoint for the assistant image (Dockerfile.rasa): one image, two servers.
#
#   serve    the Rasa server: HTTP API (needs RASA_TOKEN) and REST channel on 0.0.0.0:5005 inside
#            the container, with endpoints.production.yml (its ${...} values come from the
#            environment; see the rasa service in docker-compose.yml)
#   actions  the action server on 0.0.0.0:5055, calling the repairs service at REPAIRS_API_URL
#            with REPAIRS_API_TOKEN
#   anything else runs as given, e.g. `docker compose run --rm rasa rasa data validate`
#
# Each server is started with `exec`, so it becomes PID 1 and gets `docker stop`'s SIGTERM.
# Extra arguments are passed on to the server.
set -eu

command="${1:-serve}"
[ "$#" -gt 0 ] && shift

case "$command" in
    serve)
        # The token is a required secret: refuse to start an HTTP API anyone could use.
        : "${RASA_TOKEN:?set RASA_TOKEN (the Rasa HTTP API token)}"
        # --auth-token=...: a token may start with "-", which Rasa's parser would take for an option.
        exec rasa run --model /app/models/assistant.tar.gz --enable-api --auth-token="$RASA_TOKEN" \
            --interface 0.0.0.0 --port "${RASA_PORT:-5005}" \
            --credentials /app/credentials.yml --endpoints /app/endpoints.production.yml "$@"
        ;;
    actions)
        : "${REPAIRS_API_URL:?set REPAIRS_API_URL (the repairs service)}"
        : "${REPAIRS_API_TOKEN:?set REPAIRS_API_TOKEN (the service token)}"
        # rasa-sdk binds to SANIC_HOST; inside a container it must be reachable from the Rasa one.
        export SANIC_HOST="${SANIC_HOST:-0.0.0.0}"
        exec rasa run actions --actions actions \
            --port "${ACTION_SERVER_PORT:-5055}" "$@"
        ;;
    *)
        exec "$command" "$@"
        ;;
esac

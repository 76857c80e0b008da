#!/bin/sh
# Entrypoint for the assistant image (Dockerfile.rasa): one image, two servers.
#
#   serve    the Rasa server: HTTP API (needs RASA_TOKEN) and the signed channel (credentials.yml:
#            RASA_CHANNEL_SECRET, RASA_CHANNEL_REPLAY_STORE) on 0.0.0.0:5005 inside the container, with
#            endpoints.production.yml (its ${...} values come from the environment, ACTION_SERVER_TOKEN
#            among them; see the rasa service in docker-compose.yml)
#   actions  the action server (python -m action_server) on 0.0.0.0:5055, answering only calls with
#            ACTION_SERVER_TOKEN and calling the repairs service at REPAIRS_API_URL with
#            REPAIRS_API_TOKEN; it refuses to start without any of the three
#   anything else runs as given, e.g. `docker compose run --rm rasa rasa data validate`
#
# Each server is started with `exec`, so it becomes PID 1 and gets `docker stop`'s SIGTERM.
# Extra arguments are passed on to the Rasa server.
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
        # It checks its own settings (and says which are missing) before it listens. Inside a container
        # it must be reachable from the Rasa one, hence all addresses by default.
        export ACTION_SERVER_HOST="${ACTION_SERVER_HOST:-0.0.0.0}"
        exec python -m action_server
        ;;
    *)
        exec "$command" "$@"
        ;;
esac

#!/bin/sh
# The image's one entry point: which of Opastin's processes this container runs.
#
#   handoff   the handoff service (resident page, chat gateway, desk, API) on 8000
#   rasa      the Rasa server (REST channel only) on 5005
#   actions   the action server on 5055
#   migrate   upgrade the database to the newest schema (Alembic), then exit
#   purge     delete what is past its retention once, print the counts, then exit
#
# Any further arguments go to the command (e.g. `handoff --log-level warning`).
# Every process listens on all interfaces inside its container; who may reach it
# is decided by the network policies (deploy/kubernetes/networkpolicies.yaml).
# Settings come from the environment only (docs/operations.md); nothing here
# reads or writes a secret.
set -eu

cd /app

if [ "$#" -eq 0 ]; then
  set -- handoff
fi
command=$1
shift

case "$command" in
  handoff)
    exec python -m handoff serve --host 0.0.0.0 --port 8000 "$@"
    ;;
  rasa)
    # deploy/endpoints.yml is endpoints.yml with the action server found by its
    # Service name instead of on loopback (tests/deploy checks the two agree).
    exec rasa run --interface "${RASA_HOST:-0.0.0.0}" --port 5005 \
      --model models/opastin.tar.gz \
      --endpoints deploy/endpoints.yml --credentials credentials.yml "$@"
    ;;
  actions)
    exec python -m actions --host "${ACTION_SERVER_HOST:-0.0.0.0}" --port 5055 "$@"
    ;;
  migrate)
    exec python -m handoff migrate "$@"
    ;;
  purge)
    exec python -m handoff purge "$@"
    ;;
  *)
    echo "usage: entrypoint.sh handoff|rasa|actions|migrate|purge [ARGS...] (got: $command)" >&2
    exit 64
    ;;
esac

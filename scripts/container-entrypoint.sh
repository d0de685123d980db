#!/usr/bin/env bash
# Starts one member in a container. Every setting is an etcd flag or its ETCD_* variable.
# On Fly.io the member is named by its machine id and reached at <machine id>.vm.<app>.internal,
# a name that follows the machine when it moves (its 6PN address does not); a machine with an
# empty volume joins the app's cluster through <app>.internal as a learner (--join), and the
# leader removes a member whose machine was destroyed (--remove-vanished-members-after).
set -euo pipefail
if [ -n "${FLY_MACHINE_ID:-}" ] && [ -n "${FLY_APP_NAME:-}" ]; then
  host="${FLY_MACHINE_ID}.vm.${FLY_APP_NAME}.internal"
  export ETCD_JOIN="${ETCD_JOIN:-http://${FLY_APP_NAME}.internal:2379}"
  export ETCD_REMOVE_VANISHED_MEMBERS_AFTER="${ETCD_REMOVE_VANISHED_MEMBERS_AFTER:-600}"
  export ETCD_EXPERIMENTAL_MAX_LEARNERS="${ETCD_EXPERIMENTAL_MAX_LEARNERS:-8}"
else
  host="$(hostname -i | awk '{print $1}')"
  case "$host" in *:*) host="[$host]" ;; esac
fi
export ETCD_NAME="${ETCD_NAME:-${FLY_MACHINE_ID:-$(hostname)}}"
export ETCD_DATA_DIR="${ETCD_DATA_DIR:-/data}"
export ETCD_LISTEN_CLIENT_URLS="${ETCD_LISTEN_CLIENT_URLS:-http://[::]:2379}"
export ETCD_ADVERTISE_CLIENT_URLS="${ETCD_ADVERTISE_CLIENT_URLS:-http://$host:2379}"
export ETCD_LISTEN_PEER_URLS="${ETCD_LISTEN_PEER_URLS:-http://[::]:2380}"
export ETCD_INITIAL_ADVERTISE_PEER_URLS="${ETCD_INITIAL_ADVERTISE_PEER_URLS:-http://$host:2380}"
# Joining by hand (no --join): given the cluster's list, the member adds itself to it (its address is known only here).
if [ -z "${ETCD_JOIN:-}" ] && [ "${ETCD_INITIAL_CLUSTER_STATE:-new}" = existing ] && [ -n "${ETCD_INITIAL_CLUSTER:-}" ] && [[ ",$ETCD_INITIAL_CLUSTER" != *",$ETCD_NAME="* ]]; then
  export ETCD_INITIAL_CLUSTER="$ETCD_INITIAL_CLUSTER,$ETCD_NAME=$ETCD_INITIAL_ADVERTISE_PEER_URLS"
fi
exec node --import tsx src/cli/main.ts "$@"

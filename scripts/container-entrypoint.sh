#!/usr/bin/env bash
# Starts one member in a container. Every setting is an etcd flag or its ETCD_* variable; on Fly.io
# the member's name and URLs default to the machine's id and private (6PN) address, so peers in
# other regions reach it over the private network.
set -euo pipefail
host="${FLY_PRIVATE_IP:-$(hostname -i | awk '{print $1}')}"
case "$host" in *:*) host="[$host]" ;; esac
export ETCD_NAME="${ETCD_NAME:-${FLY_MACHINE_ID:-$(hostname)}}"
export ETCD_DATA_DIR="${ETCD_DATA_DIR:-/data}"
export ETCD_LISTEN_CLIENT_URLS="${ETCD_LISTEN_CLIENT_URLS:-http://[::]:2379}"
export ETCD_ADVERTISE_CLIENT_URLS="${ETCD_ADVERTISE_CLIENT_URLS:-http://$host:2379}"
export ETCD_LISTEN_PEER_URLS="${ETCD_LISTEN_PEER_URLS:-http://[::]:2380}"
export ETCD_INITIAL_ADVERTISE_PEER_URLS="${ETCD_INITIAL_ADVERTISE_PEER_URLS:-http://$host:2380}"
# A joining member only needs the cluster's list: it adds itself (its address is known only here).
if [ "${ETCD_INITIAL_CLUSTER_STATE:-new}" = existing ] && [ -n "${ETCD_INITIAL_CLUSTER:-}" ] && [[ ",$ETCD_INITIAL_CLUSTER" != *",$ETCD_NAME="* ]]; then
  export ETCD_INITIAL_CLUSTER="$ETCD_INITIAL_CLUSTER,$ETCD_NAME=$ETCD_INITIAL_ADVERTISE_PEER_URLS"
fi
exec node --import tsx src/cli/main.ts "$@"

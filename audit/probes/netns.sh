#!/bin/sh
# run "$@" in a fresh network namespace with lo up and v0 192.0.2.1/24, a veth whose peer is down: what it sends to 192.0.2.2 vanishes
exec unshare -n sh -c 'ip link set lo up; ip link add v0 type veth peer name v1; ip addr add 192.0.2.1/24 dev v0; ip link set v0 up; ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent; exec "$@"' sh "$@"

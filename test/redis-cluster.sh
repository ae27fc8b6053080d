#!/usr/bin/env bash
# Starts (or stops) a local Redis Cluster of three masters on loopback for
# the cluster tests: ports 7101-7103 by default (REDIS_CLUSTER_PORT0 moves
# them). Data lives in a temporary directory and nothing is persisted.
#
#   test/redis-cluster.sh start   # prints the CHAT_REDIS_CLUSTER_ADDRS value
#   test/redis-cluster.sh stop
set -euo pipefail

port0=${REDIS_CLUSTER_PORT0:-7101}
ports=("$port0" "$((port0 + 1))" "$((port0 + 2))")
dir=${REDIS_CLUSTER_DIR:-/tmp/chatd-redis-cluster}

addrs() {
	local IFS=,
	local a=()
	for p in "${ports[@]}"; do a+=("127.0.0.1:$p"); done
	echo "${a[*]}"
}

start() {
	command -v redis-server >/dev/null || { echo "redis-server not installed" >&2; exit 1; }
	mkdir -p "$dir"
	for p in "${ports[@]}"; do
		if redis-cli -p "$p" ping >/dev/null 2>&1; then continue; fi
		mkdir -p "$dir/$p"
		redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
			--cluster-config-file "$dir/$p/nodes.conf" --cluster-node-timeout 2000 \
			--save '' --appendonly no --dir "$dir/$p" --daemonize yes \
			--logfile "$dir/$p/redis.log"
	done
	for p in "${ports[@]}"; do
		for _ in $(seq 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
	done
	if ! redis-cli -p "${ports[0]}" cluster info | grep -q 'cluster_state:ok'; then
		local hosts=()
		for p in "${ports[@]}"; do hosts+=("127.0.0.1:$p"); done
		redis-cli --cluster create "${hosts[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
		for _ in $(seq 100); do
			redis-cli -p "${ports[0]}" cluster info | grep -q 'cluster_state:ok' && break
			sleep 0.1
		done
	fi
	redis-cli -p "${ports[0]}" cluster info | grep -q 'cluster_state:ok' || { echo "cluster did not come up" >&2; exit 1; }
	addrs
}

stop() {
	for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

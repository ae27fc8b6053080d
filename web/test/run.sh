#!/usr/bin/env bash
# web/test/run.sh: the browser side's tests, from any directory.
#
#   web/test/run.sh            # both files
#   web/test/run.sh sdk        # only the Node SDK tests
#
# Installs what they need (npm ci; Debian's chromium when /usr/bin/chromium
# is missing — playwright never downloads a browser), builds chatd once,
# and runs sdk.test.mjs (the SDK against real chatd processes) and
# browser.test.mjs (the demo in headless Chromium) with node --test.
# Needs Node 20+, Go, redis-cli and a Redis at CHAT_TEST_REDIS_URL
# (default redis://127.0.0.1:6379/0); .ci/run starts one. Uses ports
# 18081-18099 and Redis keys under webtest<random>, deleted afterwards.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHAT_TEST_REDIS_URL=${CHAT_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
	echo "web tests need Node 20 or later (found: $(node --version 2>/dev/null || echo none))" >&2
	exit 1
fi

npm ci --no-audit --no-fund --loglevel=error

files=(sdk.test.mjs browser.test.mjs)
if [ "${1:-}" = sdk ]; then files=(sdk.test.mjs); fi

if [[ " ${files[*]} " == *" browser.test.mjs "* ]] && [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"' EXIT
(cd ../.. && go build -o "$bin_dir/chatd" ./cmd/chatd)
export CHATD_BIN="$bin_dir/chatd"

node --test --test-concurrency=1 --test-timeout=120000 "${files[@]}"

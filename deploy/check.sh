#!/usr/bin/env bash
# Offline checks of the files in deploy/. Run from anywhere:
#
#   deploy/check.sh
#
# Installs nothing and uses no network (Go builds run with GOPROXY=off).
# Every check whose tool is missing prints "skipped: ..." and does not fail:
#   - YAML syntax of every *.yml / *.yaml (python3 + PyYAML), and yamllint's
#     relaxed rules, which also catch duplicate keys (PyYAML keeps the last)
#   - the Grafana dashboard: JSON, schemaVersion 39, unique panel ids
#   - metric names used by rules.yml and the dashboard exist in
#     server/metrics.go / hub/metrics.go (python3; rules.yml needs PyYAML)
#   - promtool: check rules, check config (both configs), test rules, and
#     every dashboard expression parsed as a recording rule
#   - haproxy -c on haproxy.cfg
#   - deploy/validate (its own Go module): k8scheck on deploy/k8s (strict
#     k8s.io/api decoding) and composecheck on compose.yaml (compose-go,
#     the loader and schema of Docker Compose); built only when its modules
#     are in the local module cache (a first build with an empty Go build
#     cache takes ~30 s; later runs ~1 s; DEPLOY_CHECK_GO=0 skips it)
#   - shellcheck on this script
# Exits 1 if any check that ran failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

passed=0
failed=0
skipped=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() {
	printf 'ok: %s\n' "$1"
	passed=$((passed + 1))
}
skip() {
	printf 'skipped: %s\n' "$1"
	skipped=$((skipped + 1))
}
fail() {
	printf 'FAIL: %s\n' "$1"
	failed=$((failed + 1))
}
have() { command -v "$1" >/dev/null 2>&1; }

# run NAME CMD...: runs CMD quietly; on failure shows its output.
run() {
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		ok "$name"
	else
		cat "$tmp/out"
		fail "$name"
	fi
}

yaml_files=$(find deploy -path deploy/validate -prune -o -type f \( -name '*.yml' -o -name '*.yaml' \) -print | sort)
dashboard=deploy/grafana/chatd.json

has_pyyaml=
if have python3 && python3 -c 'import yaml' 2>/dev/null; then
	has_pyyaml=1
fi

# --- YAML syntax ---
if [ -n "$has_pyyaml" ]; then
	for f in $yaml_files; do
		run "YAML syntax: $f" python3 -c 'import yaml,sys; list(yaml.safe_load_all(open(sys.argv[1])))' "$f"
	done
else
	skip "YAML syntax: python3 with PyYAML not installed (apt-get install python3-yaml)"
fi

if have yamllint; then
	# shellcheck disable=SC2086 # one word per file
	run "yamllint (relaxed, no line length): deploy/" yamllint -s -d '{extends: relaxed, rules: {line-length: disable}}' $yaml_files
else
	skip "yamllint not installed"
fi

# --- dashboard JSON ---
# dashboard_exprs writes every target expression of the dashboard, with the
# Grafana variables replaced, as a rules file of recording rules.
dashboard_exprs() {
	python3 - "$dashboard" >"$tmp/dashboard-rules.yml" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("schemaVersion") == 39, "schemaVersion must be 39"
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), "panel ids must be unique"
subst = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$job": "chatd", "$node": ".*"}
print("groups:\n  - name: dashboard\n    rules:")
n = 0
for p in d["panels"]:
    for t in p.get("targets", []):
        e = t["expr"]
        for k, v in subst.items():
            e = e.replace(k, v)
        assert "$" not in e, "unknown variable in: " + e
        n += 1
        print("      - record: dashboard_expr_%d\n        expr: %s" % (n, json.dumps(e)))
assert n > 0, "no expressions"
EOF
}
if have python3; then
	run "dashboard JSON: $dashboard" dashboard_exprs
else
	skip "dashboard JSON: python3 not installed"
fi

# --- metric names against the code ---
metric_names() {
	python3 - "$has_pyyaml" "$dashboard" deploy/prometheus/rules.yml server/metrics.go hub/metrics.go <<'EOF'
import json, re, sys
has_yaml, dash, rules, *sources = sys.argv[1:]
known = set()
for src in sources:
    known |= set(re.findall(r'"(chat_[a-z0-9_]+)"', open(src).read()))
assert known, "no metric names found in " + " ".join(sources)
exprs = [t["expr"] for p in json.load(open(dash))["panels"] for t in p.get("targets", [])]
if has_yaml:
    import yaml
    exprs += [r["expr"] for g in yaml.safe_load(open(rules))["groups"] for r in g["rules"]]
bad = set()
for e in exprs:
    e = re.sub(r'"[^"]*"', '""', e)  # drop label values
    for tok in re.findall(r'[A-Za-z_:][A-Za-z0-9_:]*', e):
        if tok.startswith("chat_") and ":" not in tok:
            base = re.sub(r'_(bucket|sum|count)$', '', tok)
            if tok not in known and base not in known:
                bad.add(tok)
if bad:
    sys.exit("metric names not registered by chatd: " + ", ".join(sorted(bad)))
print("%d expressions, %d known metric names" % (len(exprs), len(known)))
EOF
}
if have python3; then
	what="dashboard"
	[ -n "$has_pyyaml" ] && what="dashboard and rules.yml"
	run "metric names in the $what are chatd's" metric_names
else
	skip "metric names: python3 not installed"
fi

# --- promtool ---
if have promtool; then
	run "promtool check rules deploy/prometheus/rules.yml" promtool check rules deploy/prometheus/rules.yml
	run "promtool check config deploy/prometheus/prometheus.yml" promtool check config deploy/prometheus/prometheus.yml
	run "promtool check config deploy/prometheus/prometheus-k8s.yml" promtool check config deploy/prometheus/prometheus-k8s.yml
	run "promtool test rules deploy/prometheus/rules_test.yml" promtool test rules deploy/prometheus/rules_test.yml
	if [ -s "$tmp/dashboard-rules.yml" ]; then
		run "promtool parses every dashboard expression" promtool check rules "$tmp/dashboard-rules.yml"
	else
		skip "dashboard expressions: not extracted (python3 missing or the dashboard check failed)"
	fi
else
	skip "promtool not installed (go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0)"
fi

# --- haproxy ---
if have haproxy; then
	run "haproxy -c -f deploy/haproxy.cfg" haproxy -c -q -f deploy/haproxy.cfg
else
	skip "haproxy not installed: deploy/haproxy.cfg not checked"
fi

# --- Kubernetes manifests and compose file (deploy/validate) ---
build_validators() {
	(cd deploy/validate && GOPROXY=off GOFLAGS=-mod=readonly go build -o "$tmp/bin/" ./...)
}
if [ "${DEPLOY_CHECK_GO:-1}" = 0 ]; then
	skip "k8scheck, composecheck: DEPLOY_CHECK_GO=0"
elif ! have go; then
	skip "k8scheck, composecheck: go not installed"
elif build_validators >"$tmp/build.out" 2>&1; then
	run "k8scheck deploy/k8s/*.yaml" "$tmp/bin/k8scheck" deploy/k8s/*.yaml
	run "composecheck deploy/compose.yaml" "$tmp/bin/composecheck" deploy/compose.yaml
else
	skip "k8scheck, composecheck: deploy/validate does not build offline (its modules are not in the cache: cd deploy/validate && go mod download)"
fi

# --- this script ---
if have shellcheck; then
	run "shellcheck deploy/check.sh" shellcheck deploy/check.sh
else
	skip "shellcheck not installed"
fi

skip "Dockerfile: no Docker engine or Dockerfile linter here; build with docker build -f deploy/Dockerfile ."

printf '\ndeploy/check.sh: %d ok, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]

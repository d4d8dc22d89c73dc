#!/usr/bin/env bash
# Differential store suite: runs the shared/store tests against moto's
# server and against dynalite, two DynamoDB implementations that validate
# requests more like DynamoDB than the embedded emulator does (reserved
# words, placeholders, key types). Run from the repository root; needs Go,
# Python 3.11+ with venv/pip, and Node 20+ with npm. .ci/run calls it.
#
#   infra/ci/store-differential.sh            # both flavors
#   FLAVORS=moto infra/ci/store-differential.sh
#
# MOTO_VENV (default .local/venv-moto, git-ignored) is created on first use
# and reused afterwards. Tests a flavor does not implement (dynalite: no
# transactions, no TTL) skip themselves and say why.
set -euo pipefail

cd "$(git rev-parse --show-toplevel 2>/dev/null || pwd)"

FLAVORS=${FLAVORS:-"moto dynalite"}
MOTO_VENV=${MOTO_VENV:-.local/venv-moto}
DYNALITE_VERSION=${DYNALITE_VERSION:-4}
PKGS=${PKGS:-./shared/store/...}
LOG_DIR=${LOG_DIR:-.local/store-differential}
mkdir -p "$LOG_DIR"

server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]]; then
		# Each server runs in its own session: stop the whole process group
		# (npx forks node; moto_server may fork workers).
		kill -TERM -- "-$server_pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 -- "-$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$server_pid" 2>/dev/null || true
		server_pid=""
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_dynamodb PORT NAME LOG: until the endpoint answers HTTP on a
# DynamoDB call (any status: the tests' waiter handles table readiness).
wait_for_dynamodb() {
	local port=$1 name=$2 log=$3
	for _ in $(seq 1 600); do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			echo "$name exited before answering; its log:" >&2
			cat "$log" >&2
			return 1
		fi
		if python3 - "$port" <<'PY' 2>/dev/null; then
import sys, urllib.request
req = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/", data=b"{}", method="POST",
    headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
             "Content-Type": "application/x-amz-json-1.0",
             "Authorization": "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"})
try:
    with urllib.request.urlopen(req, timeout=2):
        sys.exit(0)
except urllib.error.HTTPError:
    sys.exit(0)  # it answered (a signature complaint is still an answer)
PY
			return 0
		fi
		sleep 0.2
	done
	echo "$name did not answer on port $port within 120 s; its log:" >&2
	cat "$log" >&2
	return 1
}

start_moto() {
	if [[ ! -x "$MOTO_VENV/bin/moto_server" ]]; then
		echo "==> installing moto[server] into $MOTO_VENV"
		python3 -m venv "$MOTO_VENV"
		"$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]'
	fi
	local port log=$LOG_DIR/moto.log
	port=$(free_port)
	echo "==> starting moto_server on 127.0.0.1:$port ($("$MOTO_VENV/bin/python" -c 'import moto; print("moto", moto.__version__)'))"
	setsid "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
	server_pid=$!
	wait_for_dynamodb "$port" moto "$log"
	endpoint="http://127.0.0.1:$port"
}

start_dynalite() {
	local port log=$LOG_DIR/dynalite.log
	port=$(free_port)
	echo "==> starting dynalite@$DYNALITE_VERSION on 127.0.0.1:$port"
	setsid npx --yes "dynalite@$DYNALITE_VERSION" --port "$port" >"$log" 2>&1 &
	server_pid=$!
	wait_for_dynamodb "$port" dynalite "$log"
	endpoint="http://127.0.0.1:$port"
}

declare -A result summary
overall=0
for flavor in $FLAVORS; do
	endpoint=""
	case "$flavor" in
	moto) start_moto ;;
	dynalite) start_dynalite ;;
	*)
		echo "unknown flavor $flavor" >&2
		exit 2
		;;
	esac
	log=$LOG_DIR/go-test-$flavor.json
	echo "==> go test $PKGS against $flavor ($endpoint)"
	status=0
	DYNAMODB_ENDPOINT=$endpoint DYNAMODB_FLAVOR=$flavor \
		go test -count=1 -json "$PKGS" >"$log" 2>"$LOG_DIR/go-test-$flavor.stderr" || status=$?
	cleanup
	# Summarise the JSON event stream: counts, every skip with its reason,
	# and the output of every failure.
	summary[$flavor]=$(python3 - "$log" "$flavor" <<'PY'
import json, sys
path, flavor = sys.argv[1], sys.argv[2]
out, final = {}, {}
for line in open(path, encoding="utf-8"):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    test = ev.get("Test")
    if not test:
        continue
    if ev.get("Action") == "output":
        out.setdefault(test, []).append(ev.get("Output", ""))
    elif ev.get("Action") in ("pass", "fail", "skip"):
        final[test] = ev["Action"]
count = {a: sum(1 for v in final.values() if v == a) for a in ("pass", "skip", "fail")}
for test, action in sorted(final.items()):
    if action == "skip":
        why = [l.strip() for l in out.get(test, []) if "does not implement" in l or ".go:" in l]
        print(f"  SKIP {test}: {why[-1] if why else ''}", file=sys.stderr)
    if action == "fail":
        print(f"  FAIL {test}:", file=sys.stderr)
        for l in out.get(test, []):
            if not l.startswith(("=== RUN", "=== PAUSE", "=== CONT")):
                print("      " + l.rstrip(), file=sys.stderr)
print(f"{count['pass']} passed, {count['skip']} skipped, {count['fail']} failed (tests and subtests)")
PY
	)
	if [[ $status -eq 0 ]]; then
		result[$flavor]=PASS
	else
		result[$flavor]=FAIL
		overall=1
		cat "$LOG_DIR/go-test-$flavor.stderr" >&2
	fi
	echo "    $flavor: ${result[$flavor]}, ${summary[$flavor]}"
done

echo
echo "==================== store differential summary ===================="
for flavor in $FLAVORS; do
	printf '  %-9s %-4s  %s\n' "$flavor" "${result[$flavor]}" "${summary[$flavor]}"
done
echo "  logs: $LOG_DIR/"
echo "===================================================================="
exit $overall

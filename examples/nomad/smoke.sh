#!/usr/bin/env bash
# Real-cluster smoke test of modelsched's Nomad driver.
#
#   nomad agent -dev &                      # or any cluster you may write to
#   NOMAD_ADDR=http://127.0.0.1:4646 examples/nomad/smoke.sh
#
# What it does, against $NOMAD_ADDR (NOMAD_TOKEN / NOMAD_NAMESPACE / NOMAD_REGION and the
# TLS variables are honoured, as by `nomad` itself):
#   1. derives a config from examples/nomad/scheduling.yaml: the same three models (spread,
#      bounded, pinned) with a job name prefix unique to this run, selectors replaced by the
#      datacenter of the first ready node (dev agents carry no tier labels) and a tiny
#      raw_exec task (`sleep`) instead of LocalAI (SMOKE_DRIVER=exec or docker to change it);
#   2. plan --out, apply, then `plan --detailed-exitcode` must exit 0;
#   3. changes one model's task environment: the plan must say that model's running
#      allocations restart (and nothing else), with a diff naming the changed field;
#   4. applies it, checks every allocation of the other models kept its ID, and that the
#      next plan is empty again;
#   5. purges the jobs it created (only those: their IDs start with its own prefix), also
#      on failure or Ctrl-C.
# Needs: bash, curl, python3 with PyYAML (modelsched's own dependencies), modelsched on PATH
# (or MODELSCHED="python -m modelsched"). Nomad >= 1.6 (node pools; job Meta in the job list
# since 1.5), raw_exec enabled on the clients (it is in `nomad agent -dev`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${NOMAD_ADDR:?set NOMAD_ADDR to the Nomad HTTP API, e.g. http://127.0.0.1:4646}"
modelsched=${MODELSCHED:-modelsched}
python=${PYTHON:-python3}
driver=${SMOKE_DRIVER:-raw_exec}
run_id="$(date +%s)-$$"
prefix="modelsched-smoke-${run_id}-"
work="$(mktemp -d)"
created=0

say() { printf 'smoke: %s\n' "$*"; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

nomad_get() {
  # GET an API path; the token goes in a header read from the environment, never on the command line.
  local args=(-fsS --max-time 10)
  [[ -n "${NOMAD_TOKEN:-}" ]] && args+=(-H @<(printf 'X-Nomad-Token: %s\n' "$NOMAD_TOKEN"))
  [[ -n "${NOMAD_CACERT:-}" ]] && args+=(--cacert "$NOMAD_CACERT")
  [[ -n "${NOMAD_CLIENT_CERT:-}" ]] && args+=(--cert "$NOMAD_CLIENT_CERT" --key "${NOMAD_CLIENT_KEY:-}")
  curl "${args[@]}" "$@"
}

query() {
  local q="namespace=${NOMAD_NAMESPACE:-default}"
  [[ -n "${NOMAD_REGION:-}" ]] && q+="&region=${NOMAD_REGION}"
  printf '%s' "$q"
}

cleanup() {
  local status=$?
  if [[ $created == 1 ]]; then
    say "purging the jobs this run created (prefix ${prefix})"
    local ids
    ids="$(nomad_get "${NOMAD_ADDR%/}/v1/jobs?prefix=${prefix}&$(query)" \
      | "$python" -c 'import json,sys; print("\n".join(j["ID"] for j in json.load(sys.stdin)))' || true)"
    while IFS= read -r id; do
      [[ -z "$id" || "$id" != "${prefix}"* ]] && continue
      nomad_get -X DELETE "${NOMAD_ADDR%/}/v1/job/${id}?purge=true&$(query)" >/dev/null || say "could not purge ${id}"
    done <<<"$ids"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Nomad at ${NOMAD_ADDR}: $(nomad_get "${NOMAD_ADDR%/}/v1/agent/self" \
  | "$python" -c 'import json,sys; print("version", json.load(sys.stdin)["config"]["Version"]["Version"])')"

nodes_json="$(nomad_get "${NOMAD_ADDR%/}/v1/nodes")"
info="$(printf '%s' "$nodes_json" | "$python" -c '
import json, sys
nodes = [n for n in json.load(sys.stdin) if n["Status"] == "ready" and n["SchedulingEligibility"] == "eligible"
         and not n.get("Drain")]
if not nodes:
    sys.exit("no ready, eligible node")
dc = sorted(n["Datacenter"] for n in nodes)[0]
print(dc, sum(1 for n in nodes if n["Datacenter"] == dc))
')" || fail "the cluster has no ready, eligible node"
read -r dc ready <<<"$info"
say "using datacenter ${dc} (${ready} ready node(s))"

cat >"$work/smoke.nomad.json.j2" <<EOF
{"TaskGroups": [{"Name": "smoke",
  "Tasks": [{"Name": "sleep", "Driver": "${driver}",
    "Config": {"command": "/bin/sh", "args": ["-c", "sleep 86400"]},
    "Env": {"SMOKE_TAG": {{ (vars.tag | default("v1")) | tojson }}},
    "Resources": {"CPU": 20, "MemoryMB": 16}}]}]}
EOF

write_config() {  # $1 = tag of the bounded model
  "$python" - "$here/scheduling.yaml" "$work/scheduling.yaml" "$prefix" "$dc" "$ready" "$1" \
    "$work/smoke.nomad.json.j2" <<'EOF'
import sys, yaml
src, dst, prefix, dc, ready, tag, template = sys.argv[1:]
doc = yaml.safe_load(open(src))
doc["nomad"] = {"datacenters": ["*"], "job_name_prefix": prefix, "job_template": template,
                "placement": doc.get("nomad", {}).get("placement", "scheduler")}
for m in doc["models"]:
    m["node_selector"] = {"node.datacenter": dc}
    m["vars"] = {"tag": tag if "max_replicas" in m and m.get("placement") != "pinned" else "v1"}
    for key in ("min_replicas", "max_replicas"):
        if key in m:
            m[key] = min(int(m[key]), int(ready))
yaml.safe_dump(doc, open(dst, "w"), sort_keys=False)
EOF
}

allocs() {  # "job alloc" lines for the live allocations of this run's jobs
  nomad_get "${NOMAD_ADDR%/}/v1/allocations?$(query)" | "$python" -c '
import json, sys
prefix = sys.argv[1]
for a in sorted(json.load(sys.stdin), key=lambda a: (a["JobID"], a["ID"])):
    if a["JobID"].startswith(prefix) and a["DesiredStatus"] == "run" and a["ClientStatus"] in ("pending", "running"):
        print(a["JobID"], a["ID"])
' "$prefix"
}

converged() {
  local code=0
  $modelsched plan --driver nomad --config "$work/scheduling.yaml" --detailed-exitcode --no-color >"$work/replan.txt" \
    || code=$?
  [[ $code == 0 ]] || { cat "$work/replan.txt" >&2; fail "plan after apply is not empty (exit ${code})"; }
}

say "1/4 plan and apply the example config"
write_config v1
created=1
$modelsched plan --driver nomad --config "$work/scheduling.yaml" --out "$work/p1.json" --no-color
$modelsched apply "$work/p1.json" --no-color
converged
allocs >"$work/before.txt"
[[ -s "$work/before.txt" ]] || fail "no allocation is running after apply"
say "$(wc -l <"$work/before.txt") allocation(s) running"

say "2/4 change the bounded model's task environment: only its allocations may restart"
write_config v2
$modelsched plan --driver nomad --config "$work/scheduling.yaml" --out "$work/p2.json" --no-color
changed="$("$python" - "$work/p2.json" "$work/before.txt" <<'EOF'
import json, sys
plan = json.load(open(sys.argv[1]))
running = {}
for line in open(sys.argv[2]):
    job, _ = line.split()
    running[job] = running.get(job, 0) + 1
ops = [op for op in plan.get("operations", []) if op["action"] != "stop"]
if len(ops) != 1 or ops[0]["action"] != "update":
    sys.exit(f"expected one job update, got {[(o['action'], o['target']) for o in ops]}")
op = ops[0]
if op.get("restarts", 0) != running.get(op["target"], 0):
    sys.exit(f"plan restarts {op.get('restarts', 0)}, {running.get(op['target'], 0)} allocation(s) run")
if not any("Env.SMOKE_TAG" in line for line in op.get("diff", [])):
    sys.exit(f"the diff does not name the changed field: {op.get('diff')}")
if plan["summary"].get("restart", 0) != op.get("restarts", 0):
    sys.exit("summary.restart differs from the operation's restarts")
print(op["target"])
EOF
)" || fail "the plan for the change is not what Nomad will do"
say "plan: ${changed} restarts its allocations, nothing else changes"

say "3/4 apply the change"
$modelsched apply "$work/p2.json" --no-color
allocs >"$work/after.txt"
kept_before="$(grep -v "^${changed} " "$work/before.txt" || true)"
kept_after="$(grep -v "^${changed} " "$work/after.txt" || true)"
[[ "$kept_before" == "$kept_after" ]] || {
  diff <(printf '%s\n' "$kept_before") <(printf '%s\n' "$kept_after") >&2 || true
  fail "allocations of models the plan did not touch changed"
}
say "every allocation of the untouched models kept its ID"

say "4/4 plan again: nothing to do"
converged
say "OK (Nomad at ${NOMAD_ADDR})"

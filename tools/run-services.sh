#!/usr/bin/env bash
# Start nova-api, nova-conductor and nova-compute on this machine with an
# embedded configuration (SQLite in ./.run, fake:// messaging), show that
# they are up, and keep them running until Ctrl-C (or RUN_SECONDS).
#
# Licensed under the Apache License, Version 2.0.
set -euo pipefail

state=${STATE_DIR:-$PWD/.run}
port=${API_PORT:-8774}
placement_port=${PLACEMENT_PORT:-8778}
mkdir -p "$state"
conf="$state/nova.conf"
cat > "$conf" <<CONF
[DEFAULT]
host = $(hostname)
state_path = $state
transport_url = fake://
report_interval = 2
[database]
connection = sqlite:///$state/nova.sqlite
[api]
auth_strategy = noauth2
listen = 127.0.0.1
port = $port
[placement]
auth_type = admin_token
endpoint = http://127.0.0.1:$placement_port
token = admin
[libvirt]
connection_uri = emulated://$(hostname)?state_dir=$state/hypervisor
pmem_backend = file
pmem_namespaces = SMALL:ns0|ns1
CONF

echo "== config: $conf"
nova-manage --config-file "$conf" db sync
echo "== schema at $(nova-manage --config-file "$conf" db version)"

pids=()
stop() {
    echo "== stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 0' INT TERM

python3 -m nova.embedded.placement --port "$placement_port" \
    --connection "sqlite:///$state/placement.sqlite" \
    >"$state/placement.log" 2>&1 &
pids+=($!)
echo "== started placement (pid $!, log $state/placement.log)"
for _ in $(seq 1 100); do
    grep -q 'placement listening' "$state/placement.log" && break
    sleep 0.2
done

for service in nova-conductor nova-compute nova-api; do
    "$service" --config-file "$conf" --log-file "$state/$service.log" \
        2>>"$state/$service.err" &
    pids+=($!)
    echo "== started $service (pid $!, log $state/$service.log)"
done

# Wait for the API and for both services' first heartbeats.
for _ in $(seq 1 50); do
    if python3 - "$port" <<'PY' 2>/dev/null
import json, sys, urllib.request
doc = json.load(urllib.request.urlopen(
    'http://127.0.0.1:%s/v2.1' % sys.argv[1], timeout=1))
print('== API version document:', json.dumps(doc['version']['id']),
      'max microversion', doc['version']['version'])
PY
    then break; fi
    sleep 0.2
done
sleep 3
nova-manage --config-file "$conf" service list
python3 - "$placement_port" <<'PY'
import json, sys, urllib.request
base = 'http://127.0.0.1:%s' % sys.argv[1]
def get(path):
    req = urllib.request.Request(base + path, headers={
        'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.39'})
    return json.load(urllib.request.urlopen(req, timeout=5))
for rp in get('/resource_providers')['resource_providers']:
    inv = get('/resource_providers/%s/inventories' % rp['uuid'])
    print('== placement inventory of %s: %s' % (rp['name'], ', '.join(
        '%s=%d' % (rc, i['total'])
        for rc, i in sorted(inv['inventories'].items()))))
PY

if [ -n "${RUN_SECONDS:-}" ]; then
    sleep "$RUN_SECONDS"
else
    echo "== running; Ctrl-C stops every service"
    wait
fi

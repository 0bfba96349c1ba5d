#!/usr/bin/env bash
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
#
# Opt-in check of doc/source/admin/deployment.rst, not part of CI: on a
# Debian 12 machine, as root, install and start RabbitMQ and PostgreSQL or
# MariaDB, run placement (gunicorn), nova-conductor, two nova-compute
# services (emulated hosts, file-backed namespaces) and nova-api as
# separate processes, and drive them with the openstack CLI.
#
#   tools/deployment-check.sh postgresql|mariadb
#
# VENV names a virtualenv with this project installed (its bin/ goes first
# on PATH); gunicorn, openstack-placement and psycopg2 are installed into
# it when missing.
# Prints one PASS or FAIL line per step and the wall time; stops every
# process it started (the services by PID, the servers it started with
# their init scripts), also on failure. Logs: $CHECK_DIR (a temp dir).
set -uo pipefail

backend=${1:-}
case "$backend" in
    postgresql|mariadb) ;;
    *) echo "usage: $0 postgresql|mariadb" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "$0: run as root (it installs packages)" >&2;
                        exit 2; }
if [ -n "${VENV:-}" ]; then PATH=$VENV/bin:$PATH; fi
api_port=${API_PORT:-18774}
placement_port=${PLACEMENT_PORT:-18778}
secret=${DB_PASSWORD:-SECRET}
work=${CHECK_DIR:-$(mktemp -d /tmp/deployment-check.XXXXXX)}
mkdir -p "$work/log" "$work/etc/placement"
began=$(date +%s)
pids=()
names=()
started_servers=()
epmd_before=
current_log=

stop_all() {
    local i
    for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null; done
    for i in "${!pids[@]}"; do
        for _ in $(seq 1 100); do
            kill -0 "${pids[$i]}" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "   ${names[$i]} (pid ${pids[$i]}) ignored SIGTERM; killing"
            kill -KILL "${pids[$i]}" 2>/dev/null
        fi
    done
    for server in "${started_servers[@]}"; do
        service "$server" stop >/dev/null 2>&1
        # RabbitMQ's init script leaves the Erlang port mapper it started.
        if [ "$server" = rabbitmq-server ] && [ -z "$epmd_before" ]; then
            epmd -kill >/dev/null 2>&1
        fi
    done
    echo "== stopped ${#pids[@]} service process(es)" \
         "${started_servers[*]:+and ${started_servers[*]}}"
    echo "== wall time $(( $(date +%s) - began )) s ($backend); logs in $work"
}
trap stop_all EXIT
trap 'exit 1' INT TERM

pass() { echo "PASS $*"; }
fail() {
    echo "FAIL $1"
    if [ -n "$current_log" ] && [ -f "$current_log" ]; then
        echo "---- tail of $current_log"
        tail -n 30 "$current_log"
    fi
    exit 1
}
# run STEP LOG CMD...: run CMD with its output in LOG; FAIL on non-zero.
run() {
    local step=$1 log=$2
    shift 2
    current_log=$log
    "$@" >>"$log" 2>&1 || fail "$step"
}
start() {
    local name=$1
    shift
    "$@" >"$work/log/$name.out" 2>&1 &
    pids+=($!)
    names+=("$name")
}

# -- 1. packages, servers, users and databases --------------------------------

db_pkg=$([ "$backend" = postgresql ] && echo postgresql || echo mariadb-server)
missing=()
for pkg in rabbitmq-server "$db_pkg"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
setup_log=$work/log/setup.log
if [ "${#missing[@]}" -gt 0 ]; then
    run "install ${missing[*]}" "$setup_log" apt-get update
    run "install ${missing[*]}" "$setup_log" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q "${missing[@]}"
fi
db_server=$([ "$backend" = postgresql ] && echo postgresql || echo mariadb)
epmd_before=$(epmd -names >/dev/null 2>&1 && echo running)
for server in rabbitmq-server "$db_server"; do
    if ! service "$server" status >/dev/null 2>&1; then
        run "start $server" "$setup_log" service "$server" start
        started_servers+=("$server")
    fi
done
python3 -c 'import nova' 2>/dev/null ||
    { current_log=; fail "nova is not importable (set VENV)"; }
wants=()
command -v gunicorn >/dev/null || wants+=(gunicorn)
# placement's own package: the `embedded` extra, not a nova requirement.
command -v placement-manage >/dev/null || wants+=(openstack-placement)
if [ "$backend" = postgresql ]; then
    python3 -c 'import psycopg2' 2>/dev/null || wants+=(psycopg2-binary)
fi
if [ "${#wants[@]}" -gt 0 ]; then
    run "pip install ${wants[*]}" "$setup_log" \
        python3 -m pip install -q "${wants[@]}"
fi

# A vhost and databases of its own, new each run.
vhost=nova-check
rabbit() { rabbitmqctl -q "$@"; }
run "rabbitmq vhost and user" "$setup_log" bash -c "
    $(declare -f rabbit)
    rabbit list_users | grep -q '^nova\b' || rabbit add_user nova '$secret'
    rabbit change_password nova '$secret'
    rabbit delete_vhost $vhost >/dev/null 2>&1 || true
    rabbit add_vhost $vhost
    rabbit set_permissions -p $vhost nova '.*' '.*' '.*'"
if [ "$backend" = postgresql ]; then
    run "postgresql users and databases" "$setup_log" su postgres -c "
        set -e
        for user in nova placement; do
            psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='\$user'\" |
                grep -q 1 || psql -qc \"CREATE USER \$user\"
            psql -qc \"ALTER USER \$user WITH PASSWORD '$secret'\"
            dropdb --if-exists \${user}_check
            createdb -O \$user \${user}_check
        done"
    # psycopg2 for both: psycopg 3 has no cursor.lastrowid, which
    # placement's allocation writes read.
    nova_db=postgresql+psycopg2://nova:$secret@127.0.0.1/nova_check
    placement_db=postgresql+psycopg2://placement:$secret@127.0.0.1/placement_check
else
    sql=""
    for user in nova placement; do
        sql+="CREATE USER IF NOT EXISTS '$user'@'%';
              ALTER USER '$user'@'%' IDENTIFIED BY '$secret';
              GRANT ALL ON ${user}_check.* TO '$user'@'%';
              DROP DATABASE IF EXISTS ${user}_check;
              CREATE DATABASE ${user}_check;"
    done
    run "mariadb users and databases" "$setup_log" mysql -e "$sql"
    nova_db=mysql+pymysql://nova:$secret@127.0.0.1/nova_check
    placement_db=mysql+pymysql://placement:$secret@127.0.0.1/placement_check
fi
pass "1 rabbitmq-server and $db_server running; users, vhost, databases"

# -- 2. the services as separate processes ------------------------------------

transport=rabbit://nova:$secret@127.0.0.1:5672/$vhost
placement_section="[placement]
auth_type = admin_token
endpoint = http://127.0.0.1:$placement_port
token = admin"
cat >"$work/etc/placement/placement.conf" <<CONF
[api]
auth_strategy = noauth2
[placement_database]
connection = $placement_db
CONF
cat >"$work/etc/nova-conductor.conf" <<CONF
[DEFAULT]
host = controller-1
transport_url = $transport
report_interval = 2
service_down_time = 60
graceful_shutdown_timeout = 30
[database]
connection = $nova_db
$placement_section
CONF
cat >"$work/etc/nova-api.conf" <<CONF
[DEFAULT]
host = controller-1
transport_url = $transport
graceful_shutdown_timeout = 30
[database]
connection = $nova_db
[api]
listen = 127.0.0.1
port = $api_port
auth_strategy = noauth2
$placement_section
CONF
for host in compute-a compute-b; do
    cat >"$work/etc/nova-compute-$host.conf" <<CONF
[DEFAULT]
host = $host
state_path = $work/$host
transport_url = $transport
report_interval = 2
graceful_shutdown_timeout = 60
[database]
connection = $nova_db
[libvirt]
connection_uri = emulated://$host?state_dir=$work/$host/hypervisor
pmem_backend = file
pmem_namespaces = SMALL:ns0|ns1
live_migration_bandwidth = 0
live_migration_downtime = 500
live_migration_permit_auto_converge = True
$placement_section
CONF
done

for port in "$api_port" "$placement_port"; do
    python3 -c "import socket; socket.create_server(('127.0.0.1', $port))" \
        2>/dev/null || { current_log=; fail "2 port $port is free"; }
done
log=$work/log/placement.log
run "2a placement-manage db sync" "$log" placement-manage \
    --config-file "$work/etc/placement/placement.conf" db sync
OS_PLACEMENT_CONFIG_DIR=$work/etc/placement start placement \
    gunicorn -b "127.0.0.1:$placement_port" --error-logfile "$log" \
    placement.wsgi.api:application
placement_url=http://127.0.0.1:$placement_port
placement_get() {
    python3 - "$placement_url" "$1" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + sys.argv[2], headers={
    'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'placement 1.39'})
print(json.dumps(json.load(urllib.request.urlopen(req, timeout=5))))
PY
}
wait_for() {  # wait_for SECONDS CMD...: retry CMD every 0.5 s
    local deadline=$(( $(date +%s) + $1 ))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}
current_log=$log
wait_for 30 placement_get /resource_providers || fail "2a placement serving"
pass "2a placement: placement-manage db sync; gunicorn on $placement_url"

log=$work/log/nova-manage.log
run "2b nova-manage db sync" "$log" nova-manage \
    --config-file "$work/etc/nova-conductor.conf" db sync
pass "2b nova-manage db sync: schema $(nova-manage --config-file \
    "$work/etc/nova-conductor.conf" db version 2>/dev/null)"

start nova-conductor nova-conductor --config-file "$work/etc/nova-conductor.conf" \
    --log-file "$work/log/nova-conductor.log"
for host in compute-a compute-b; do
    start "nova-compute-$host" nova-compute \
        --config-file "$work/etc/nova-compute-$host.conf" \
        --log-file "$work/log/nova-compute-$host.log"
done
start nova-api nova-api --config-file "$work/etc/nova-api.conf" \
    --log-file "$work/log/nova-api.log"
services_up() {
    [ "$(nova-manage --config-file "$work/etc/nova-conductor.conf" \
        service list 2>/dev/null | grep -c ' up ')" -ge 3 ]
}
current_log=$work/log/nova-conductor.log
wait_for 60 services_up || fail "2c nova-conductor and 2 nova-compute up"
current_log=$work/log/nova-api.log
wait_for 30 python3 -c "import urllib.request; urllib.request.urlopen(
    'http://127.0.0.1:$api_port/v2.1', timeout=1)" || fail "2c nova-api"
for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null || {
        current_log=$work/log/${names[$i]}.out; fail "2c ${names[$i]} alive"; }
done
pass "2c nova-conductor, nova-compute compute-a and compute-b, nova-api" \
     "running (pids ${pids[*]})"

# -- 3. the openstack CLI ------------------------------------------------------

cli_log=$work/log/openstack.log
os_() {
    echo "\$ openstack $*" >>"$cli_log"
    openstack --os-auth-type none \
        --os-endpoint "http://127.0.0.1:$api_port/v2.1" \
        --os-identity-api-version 3 "$@" 2>>"$cli_log" | tee -a "$cli_log"
}
server_field() { os_ server show vm1 -f value -c "$1"; }
provider_usage() {  # provider_usage HOST: units of CUSTOM_PMEM_NAMESPACE_SMALL
    local rp
    rp=$(placement_get "/resource_providers?name=$1" | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["resource_providers"][0]["uuid"])')
    placement_get "/resource_providers/$rp/usages" | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["usages"].get(
            "CUSTOM_PMEM_NAMESPACE_SMALL", 0))'
}
namespaces_zero() {  # namespaces_zero HOST: every namespace file reads 0s
    python3 - "$work/$1/pmem" <<'PY'
import os, sys
for name in sorted(os.listdir(sys.argv[1])):
    with open(os.path.join(sys.argv[1], name), 'rb') as f:
        while chunk := f.read(1 << 20):
            if chunk.count(0) != len(chunk):
                sys.exit('%s is not erased' % name)
PY
}
expect() {  # expect STEP WANT GOT
    current_log=$cli_log
    [ "$2" = "$3" ] || { echo "   wanted '$2', got '$3'"; fail "$1"; }
}

step="3a flavor create --property hw:pmem=SMALL"
current_log=$cli_log
os_ flavor create --ram 64 --vcpus 1 --disk 0 --property hw:pmem=SMALL \
    pmem-small >/dev/null || fail "$step"
pass "$step"

step="3b server create --image cirros --nic none --wait"
os_ server create --flavor pmem-small --image cirros --nic none --wait \
    vm1 >/dev/null || fail "$step"
expect "$step" ACTIVE "$(server_field status)"
source_host=$(server_field OS-EXT-SRV-ATTR:host)
other_host=$([ "$source_host" = compute-a ] && echo compute-b || echo compute-a)
expect "$step: placement usage on $source_host" 1 "$(provider_usage "$source_host")"
pass "$step: ACTIVE on $source_host, 1 namespace in use"

step="3c server migrate --live-migration --host $other_host --wait"
# The openstack CLI exits 0 whatever became of the migration: ask the API.
os_ server migrate --live-migration --host "$other_host" --wait vm1 \
    >/dev/null || fail "$step"
expect "$step: status" ACTIVE "$(server_field status)"
live_status=$(os_ server migration list --server vm1 --type live-migration \
    -f value -c Status | head -n 1)
if [ "$(server_field OS-EXT-SRV-ATTR:host)" = "$other_host" ]; then
    expect "$step: migration" completed "$live_status"
    source_host_after_live=$other_host
    pass "$step: ACTIVE on $other_host"
else
    # Emulated hosts reach each other only inside one process
    # (deployment.rst): the refusal must leave everything as it was.
    expect "$step: migration" failed "$live_status"
    expect "$step: usage on $source_host" 1 "$(provider_usage "$source_host")"
    expect "$step: usage on $other_host" 0 "$(provider_usage "$other_host")"
    current_log=$work/log/nova-compute-$other_host.log
    namespaces_zero "$other_host" || fail "$step: $other_host erased"
    source_host_after_live=$source_host
    pass "$step: refused as documented for emulated hosts in separate" \
         "processes; server ACTIVE on $source_host, placement unchanged"
fi

source_host=$source_host_after_live
other_host=$([ "$source_host" = compute-a ] && echo compute-b || echo compute-a)
step="3d server migrate --wait (cold), server migration confirm"
os_ server migrate --wait vm1 >/dev/null || fail "$step"
expect "$step: status" VERIFY_RESIZE "$(server_field status)"
expect "$step: host" "$other_host" "$(server_field OS-EXT-SRV-ATTR:host)"
os_ server migration confirm vm1 >/dev/null || fail "$step"
current_log=$cli_log
wait_for 30 bash -c "[ \"\$(openstack --os-auth-type none \
    --os-endpoint http://127.0.0.1:$api_port/v2.1 \
    --os-identity-api-version 3 server show vm1 -f value -c status)\" \
    = ACTIVE ]" || fail "$step: ACTIVE after confirm"
expect "$step: usage on $source_host" 0 "$(provider_usage "$source_host")"
expect "$step: usage on $other_host" 1 "$(provider_usage "$other_host")"
current_log=$work/log/nova-compute-$source_host.log
namespaces_zero "$source_host" || fail "$step: $source_host erased"
pass "$step: ACTIVE on $other_host; $source_host's namespace erased, usage 0"

step="3e server migration list"
current_log=$cli_log
migrations=$(os_ server migration list -f value -c Type -c Status |
             sort | tr '\n' ' ' | sed 's/ $//')
case "$migrations" in
    *"confirmed migration"*) ;;
    *) echo "   got: $migrations"; fail "$step" ;;
esac
pass "$step: $migrations"

step="3f compute service list"
up=$(os_ compute service list -f value -c Binary -c Host -c State |
     grep -c ' up$')
expect "$step: services up" 3 "$up"
pass "$step: nova-conductor and 2 nova-compute up"

step="3g server delete --wait"
os_ server delete --wait vm1 >/dev/null || fail "$step"
for host in compute-a compute-b; do
    expect "$step: usage on $host" 0 "$(provider_usage "$host")"
    current_log=$work/log/nova-compute-$host.log
    namespaces_zero "$host" || fail "$step: $host erased"
done
pass "$step: every namespace erased, placement usage 0 on both hosts"
echo "PASS deployment check ($backend)"

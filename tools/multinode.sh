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
# The multinode topology on this machine, for a person (as root): RabbitMQ,
# MariaDB (or PostgreSQL), placement, nova-api and nova-conductor on the
# bridge nmn-br0 (10.77.0.1), and two computes, each with its own libvirtd,
# in the network namespaces nmn-c1 (10.77.0.11) and nmn-c2 (10.77.0.12).
#
#   tools/multinode.sh up          start it all (about 10-20 s)
#   eval "$(tools/multinode.sh env)"   then use the openstack CLI
#   tools/multinode.sh down        stop everything by PID, remove the network
#   tools/multinode.sh check       up, boot + live-migrate through the CLI, down
#
# PYTHON: a Python with this project, libvirt-python, gunicorn and the
#   openstack CLI installed (default: the multinode tox environment's).
# MULTINODE_DIR: state, configs and logs (default: .multinode in the repo).
# MULTINODE_DB: mariadb (default) or postgresql.
# MULTINODE_PORT_OFFSET: added to every port (5672, 3306, 8774, ...).
# Other arguments go to the module (e.g. check --keep, down --purge).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.tox/multinode/bin/python}
dir=${MULTINODE_DIR:-$repo/.multinode}
command=${1:-}
case "$command" in
    up|down|env|check) shift ;;
    *) echo "usage: $0 up|down|env|check [options]" >&2; exit 2 ;;
esac
if [ "$command" != env ] && [ "$(id -u)" != 0 ]; then
    echo "$0: run as root (network namespaces, daemons as their users)" >&2
    exit 2
fi
if [ ! -x "$python" ]; then
    echo "$0: no $python; set PYTHON, or create it: tools/tox.sh -e" \
         "multinode --notest" >&2
    exit 2
fi
if [ "$command" = up ] || [ "$command" = check ]; then
    # libvirt and QEMU as the tiers install them; gunicorn serves
    # placement and nova-api (RabbitMQ and the SQL server: the module).
    . "$repo/tools/integration/common.sh"
    ensure_host_packages multinode "$python" -- gunicorn:gunicorn || exit 1
fi
args=(--base-dir "$dir" --db "${MULTINODE_DB:-mariadb}"
      --port-offset "${MULTINODE_PORT_OFFSET:-0}")
cd "$repo" || exit 1
"$python" -m nova.tests.multinode.deployment "$command" "${args[@]}" "$@"
status=$?
case "$command" in
    up)
        if [ $status = 0 ]; then
            echo "logs: $dir/log   configs: $dir/etc"
            echo "CLI:  eval \"\$($0 env)\"; openstack compute service list"
            echo "stop: $0 down"
        fi ;;
    check) [ $status = 0 ] || echo "logs: $dir/log" ;;
esac
exit $status

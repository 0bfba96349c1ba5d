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

"""What ``/os-hypervisors`` shows of a compute node, per microversion.

Pure functions: the handlers (nova.api.handlers.hypervisors) read the
node, its service and its instances and pass them in.

* 2.1: integer ids; the detail view carries the node's sizes and usage
  (``vcpus`` ... ``disk_available_least``) and ``cpu_info`` as a string.
* 2.28: ``cpu_info`` is an object.
* 2.53: ids (the node's and its service's) are uuids; ``servers`` on
  request (``with_servers``).
* 2.75: ``servers`` is there, maybe empty, whenever asked for.
* 2.88: the sizes and usage are gone (placement has them); ``show`` has
  the host's ``uptime``.
"""

from oslo_serialization import jsonutils

CPU_INFO_OBJECT_VERSION = (2, 28)
UUID_VERSION = (2, 53)
ALWAYS_SERVERS_VERSION = (2, 75)
NO_STATISTICS_VERSION = (2, 88)

# The statistics keys of the detail view (and of /statistics, summed).
STATISTICS_KEYS = ('vcpus', 'memory_mb', 'local_gb', 'vcpus_used',
                   'memory_mb_used', 'local_gb_used', 'free_ram_mb',
                   'free_disk_gb', 'current_workload', 'running_vms',
                   'disk_available_least')

# (first, last microversion, keys the detail view has in that range)
DETAIL_KEYS = (
    (None, None, ('hypervisor_type', 'hypervisor_version', 'host_ip',
                  'service')),
    (None, (2, 87), STATISTICS_KEYS + ('cpu_info',)),
)


def _in(version, first, last):
    return ((first is None or version >= first) and
            (last is None or version <= last))


def node_id(node, version):
    return node.uuid if version >= UUID_VERSION else node.id


def node_statistics(node, instances):
    """The usage numbers of ``node``; ``instances``: those it runs."""
    free_disk_gb = (node.local_gb or 0) - (node.local_gb_used or 0)
    return {
        'vcpus': node.vcpus or 0,
        'memory_mb': node.memory_mb or 0,
        'local_gb': node.local_gb or 0,
        'vcpus_used': node.vcpus_used or 0,
        'memory_mb_used': node.memory_mb_used or 0,
        'local_gb_used': node.local_gb_used or 0,
        'free_ram_mb': (node.memory_mb or 0) - (node.memory_mb_used or 0),
        'free_disk_gb': free_disk_gb,
        # Instances in the middle of an operation (a task_state is set).
        'current_workload': sum(1 for i in instances if i.task_state),
        'running_vms': len(instances),
        # Guests here have no disk images to over-commit: what is free.
        'disk_available_least': free_disk_gb,
    }


def _cpu_info(node, version):
    text = node.cpu_info or ''
    if version < CPU_INFO_OBJECT_VERSION:
        return text
    return jsonutils.loads(text) if text else {}


def summary_view(node, service, up, version):
    """The list (and search) view: id, name, state and status."""
    return {
        'id': node_id(node, version),
        'hypervisor_hostname': node.hypervisor_hostname,
        'state': 'up' if up else 'down',
        'status': ('disabled' if service is not None and service.disabled
                   else 'enabled'),
    }


def detail_view(node, service, up, version, instances):
    """The detail (and show) view of ``node`` at ``version``."""
    body = summary_view(node, service, up, version)
    values = {
        'hypervisor_type': node.hypervisor_type,
        'hypervisor_version': node.hypervisor_version,
        'host_ip': str(node.host_ip) if node.host_ip is not None else None,
        'service': {
            'host': node.host,
            'id': (None if service is None else
                   service.uuid if version >= UUID_VERSION else service.id),
            'disabled_reason': (service.disabled_reason
                                if service is not None else None),
        },
        'cpu_info': _cpu_info(node, version),
    }
    values.update(node_statistics(node, instances))
    for first, last, keys in DETAIL_KEYS:
        if _in(version, first, last):
            body.update((key, values[key]) for key in keys)
    return body


def add_servers(body, instances, version, asked):
    """Add ``servers`` to a view: when asked, and before 2.75 only if any.

    ``asked``: with_servers (2.53) or the /servers call (until 2.52).
    """
    if not asked:
        return body
    if instances or version >= ALWAYS_SERVERS_VERSION:
        body['servers'] = [{'name': i.display_name, 'uuid': i.uuid}
                           for i in instances]
    return body


def statistics_view(nodes_with_instances):
    """``/os-hypervisors/statistics``: the sums over ``(node, instances)``."""
    totals = dict.fromkeys(STATISTICS_KEYS, 0)
    count = 0
    for node, instances in nodes_with_instances:
        count += 1
        for key, value in node_statistics(node, instances).items():
            totals[key] += value
    totals['count'] = count
    return {'hypervisor_statistics': totals}

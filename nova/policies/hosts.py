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

"""Rules of the compute hosts: services, hypervisors, aggregates.

Hosts are the cloud's, not a project's: administrators only.
"""

from nova.policies import base

ADMIN = base.ADMIN

SERVICES = 'os_compute_api:os-services:%s'
HYPERVISORS = 'os_compute_api:os-hypervisors:%s'
_PATTERN = '/os-hypervisors/{hypervisor_hostname_pattern}'

TABLE = [
    (SERVICES % 'list', ADMIN, 'List services.', [('GET', '/os-services')]),
    (SERVICES % 'update', ADMIN,
     'Enable, disable or force down a compute service.',
     [('PUT', '/os-services/{service_id}')]),
    (SERVICES % 'delete', ADMIN,
     'Delete a service (a compute: with its node and its resource '
     'provider).', [('DELETE', '/os-services/{service_id}')]),
    (HYPERVISORS % 'list', ADMIN, 'List hypervisors.',
     [('GET', '/os-hypervisors')]),
    (HYPERVISORS % 'list-detail', ADMIN, 'List hypervisors in detail.',
     [('GET', '/os-hypervisors/detail')]),
    (HYPERVISORS % 'show', ADMIN, 'Show a hypervisor.',
     [('GET', '/os-hypervisors/{hypervisor_id}')]),
    (HYPERVISORS % 'statistics', ADMIN,
     'Sum the hypervisors up (until 2.87).',
     [('GET', '/os-hypervisors/statistics')]),
    (HYPERVISORS % 'uptime', ADMIN,
     "Show a hypervisor's uptime (until 2.87).",
     [('GET', '/os-hypervisors/{hypervisor_id}/uptime')]),
    (HYPERVISORS % 'search', ADMIN,
     'Find hypervisors by host name (until 2.52).',
     [('GET', _PATTERN + '/search')]),
    (HYPERVISORS % 'servers', ADMIN,
     'List the servers of hypervisors (until 2.52).',
     [('GET', _PATTERN + '/servers')]),
    ('os_compute_api:os-aggregates:index', ADMIN,
     'List host aggregates (none here).', [('GET', '/os-aggregates')]),
]


def list_rules():
    return base.rules(TABLE)

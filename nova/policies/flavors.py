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

"""Rules of flavors: administrators manage them, projects read specs.

Listing and showing flavors needs no rule (every project boots from
them); a project's readers may read extra specs (``hw:pmem`` tells which
namespaces a flavor asks for).
"""

from nova.policies import base

ADMIN = base.ADMIN
READER = base.PROJECT_READER_OR_ADMIN

MANAGE = 'os_compute_api:os-flavor-manage:%s'
ACCESS = 'os_compute_api:os-flavor-access'
SPECS = 'os_compute_api:os-flavor-extra-specs:%s'
_SPECS = '/flavors/{flavor_id}/os-extra_specs'

TABLE = [
    (MANAGE % 'create', ADMIN, 'Create a flavor.', [('POST', '/flavors')]),
    (MANAGE % 'update', ADMIN, "Change a flavor's description (2.55).",
     [('PUT', '/flavors/{flavor_id}')]),
    (MANAGE % 'delete', ADMIN, 'Delete a flavor.',
     [('DELETE', '/flavors/{flavor_id}')]),
    (ACCESS, ADMIN, 'List the projects that may use a private flavor.',
     [('GET', '/flavors/{flavor_id}/os-flavor-access')]),
    (ACCESS + ':add_tenant_access', ADMIN,
     'Let a project use a private flavor.',
     [('POST', '/flavors/{flavor_id}/action (addTenantAccess)')]),
    (ACCESS + ':remove_tenant_access', ADMIN,
     'Take a private flavor from a project.',
     [('POST', '/flavors/{flavor_id}/action (removeTenantAccess)')]),
    (SPECS % 'index', READER,
     "List a flavor's extra specs; also decides whether flavor views "
     'carry them (2.61).', [('GET', _SPECS)]),
    (SPECS % 'show', READER, 'Show one extra spec of a flavor.',
     [('GET', _SPECS + '/{key}')]),
    (SPECS % 'create', ADMIN, 'Add flavor extra specs.',
     [('POST', _SPECS)]),
    (SPECS % 'update', ADMIN, 'Change a flavor extra spec.',
     [('PUT', _SPECS + '/{key}')]),
    (SPECS % 'delete', ADMIN, 'Remove a flavor extra spec.',
     [('DELETE', _SPECS + '/{key}')]),
]


def list_rules():
    return base.rules(TABLE)

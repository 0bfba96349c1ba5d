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

"""Rules of moving servers between hosts: administrators only.

A migration names hosts and decides where a guest's persistent memory
goes, which is the cloud's business, not a project's.
"""

from nova.policies import base

ADMIN = base.ADMIN

MIGRATIONS = 'os_compute_api:servers:migrations:%s'
_ACTION = '/servers/{server_id}/action (%s)'
_MIGRATION = '/servers/{server_id}/migrations/{migration_id}'

TABLE = [
    ('os_compute_api:os-migrate-server:migrate_live', ADMIN,
     'Live-migrate a server.', [('POST', _ACTION % 'os-migrateLive')]),
    ('os_compute_api:os-migrate-server:migrate', ADMIN,
     'Cold-migrate a server.', [('POST', _ACTION % 'migrate')]),
    (MIGRATIONS % 'index', ADMIN, "List a server's migrations.",
     [('GET', '/servers/{server_id}/migrations')]),
    (MIGRATIONS % 'show', ADMIN, "Show a server's migration.",
     [('GET', _MIGRATION)]),
    (MIGRATIONS % 'delete', ADMIN, 'Abort a live migration.',
     [('DELETE', _MIGRATION)]),
    (MIGRATIONS % 'force_complete', ADMIN,
     'Force a live migration to complete.',
     [('POST', _MIGRATION + '/action (force_complete)')]),
    ('os_compute_api:os-migrations:index', ADMIN,
     'List the migrations of every server.', [('GET', '/os-migrations')]),
]


def list_rules():
    return base.rules(TABLE)

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

"""Rules of the servers: create, list, show, change, delete, act on.

A project's members act on its servers, its readers only see them;
anything about hosts is for administrators.
"""

from nova.policies import base

ADMIN = base.ADMIN
MEMBER = base.PROJECT_MEMBER_OR_ADMIN
READER = base.PROJECT_READER_OR_ADMIN
WAS_OWNER = base.ADMIN_OR_OWNER

SERVERS = 'os_compute_api:servers:%s'
LOCK = 'os_compute_api:os-lock-server:%s'
PAUSE = 'os_compute_api:os-pause-server:%s'
_SERVER = '/servers/{server_id}'
_ACTION = '/servers/{server_id}/action (%s)'

TABLE = [
    (SERVERS % 'create', MEMBER, 'Create a server.',
     [('POST', '/servers')], WAS_OWNER),
    (SERVERS % 'index', READER, 'List servers.',
     [('GET', '/servers')], WAS_OWNER),
    (SERVERS % 'detail', READER, 'List servers in detail.',
     [('GET', '/servers/detail')], WAS_OWNER),
    (SERVERS % 'show', READER, 'Show a server.',
     [('GET', _SERVER)], WAS_OWNER),
    (SERVERS % 'update', MEMBER,
     'Rename a server or change its description.',
     [('PUT', _SERVER)], WAS_OWNER),
    (SERVERS % 'delete', MEMBER, 'Delete a server.',
     [('DELETE', _SERVER)], WAS_OWNER),
    (SERVERS % 'index:get_all_tenants', ADMIN,
     'List the servers of every project (all_tenants).',
     [('GET', '/servers')]),
    (SERVERS % 'detail:get_all_tenants', ADMIN,
     'List the servers of every project in detail (all_tenants).',
     [('GET', '/servers/detail')]),
    (SERVERS % 'allow_all_filters', ADMIN,
     'Filter server lists by any filter (host, node, deleted, ...); '
     'the filters of other callers are ignored.',
     [('GET', '/servers'), ('GET', '/servers/detail')]),
    (SERVERS % 'show:host_status', ADMIN,
     "Show the state of a server's host (host_status, 2.16).",
     [('GET', _SERVER), ('GET', '/servers/detail')]),
    (SERVERS % 'show:host_status:unknown-only', ADMIN,
     'Show host_status only when it is UNKNOWN (checked when '
     'show:host_status refuses).',
     [('GET', _SERVER), ('GET', '/servers/detail')]),
    ('os_compute_api:os-extended-server-attributes', ADMIN,
     'Show the OS-EXT-SRV-ATTR attributes of servers (host, node, '
     'instance name, ...).',
     [('GET', _SERVER), ('GET', '/servers/detail')]),
    (SERVERS % 'stop', MEMBER, 'Stop a server.',
     [('POST', _ACTION % 'os-stop')], WAS_OWNER),
    (SERVERS % 'start', MEMBER, 'Start a stopped server.',
     [('POST', _ACTION % 'os-start')], WAS_OWNER),
    (SERVERS % 'reboot', MEMBER, 'Reboot a server.',
     [('POST', _ACTION % 'reboot')], WAS_OWNER),
    (PAUSE % 'pause', MEMBER, 'Pause a server.',
     [('POST', _ACTION % 'pause')], WAS_OWNER),
    (PAUSE % 'unpause', MEMBER, 'Unpause a paused server.',
     [('POST', _ACTION % 'unpause')], WAS_OWNER),
    (LOCK % 'lock', MEMBER, 'Lock a server.',
     [('POST', _ACTION % 'lock')], WAS_OWNER),
    (LOCK % 'unlock', MEMBER, 'Unlock a server.',
     [('POST', _ACTION % 'unlock')], WAS_OWNER),
    (LOCK % 'unlock:unlock_override', ADMIN,
     'Unlock a server someone else locked.',
     [('POST', _ACTION % 'unlock')]),
    (SERVERS % 'confirm_resize', MEMBER,
     'Confirm a cold migration (or resize) of a server.',
     [('POST', _ACTION % 'confirmResize')], WAS_OWNER),
    (SERVERS % 'revert_resize', MEMBER,
     'Revert a cold migration (or resize) of a server.',
     [('POST', _ACTION % 'revertResize')], WAS_OWNER),
]


def list_rules():
    return base.rules(TABLE)

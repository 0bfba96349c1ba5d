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

"""Rules of a server's action history (os-instance-actions).

A project's readers see what happened to its servers; the events inside
an action name hosts and tracebacks, so they are for administrators.
"""

from nova.policies import base

ADMIN = base.ADMIN
READER = base.PROJECT_READER_OR_ADMIN

ACTIONS = 'os_compute_api:os-instance-actions:%s'
_ACTION = '/servers/{server_id}/os-instance-actions/{request_id}'

TABLE = [
    (ACTIONS % 'list', READER, 'List the actions of a server.',
     [('GET', '/servers/{server_id}/os-instance-actions')]),
    (ACTIONS % 'show', READER, 'Show an action of a server.',
     [('GET', _ACTION)]),
    (ACTIONS % 'events', ADMIN,
     'Show the events of an action at every microversion, with their '
     'traceback, and from 2.62 their host. Checked after :show passes; '
     'without it events appear only from 2.51, without traceback or host.',
     [('GET', _ACTION)]),
    (ACTIONS % 'events:details', ADMIN,
     "Show the 'details' of action events (2.84), why an event failed. "
     'Checked after :show passes; the text may say more about the '
     'deployment than its users need.',
     [('GET', _ACTION)]),
]


def list_rules():
    return base.rules(TABLE)

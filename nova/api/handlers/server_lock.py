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

"""Locked servers: the ``lock`` and ``unlock`` actions, and the check
every other action of a server makes.

A locked server refuses actions from anyone but an administrator (409), as
in Nova; who locked it (``owner`` or ``admin``) decides who may unlock
it.
"""

from nova.api import wsgi


def refuse_if_locked(req, instance):
    """409 when a non-administrator acts on a locked server."""
    if instance.locked and not req.context.is_admin:
        raise wsgi.HTTPError(409, 'Instance %s is locked' % instance.uuid)


# Action name (the key of the request body) -> handler(req, instance, body).
ACTIONS = {}

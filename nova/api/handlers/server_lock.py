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

from nova.api import http
from nova.api import validation

LOCK_SERVER = 'os_compute_api:os-lock-server:%s'

# Before 2.73 Nova reads no argument of the lock action; from 2.73 an
# optional reason (shown as locked_reason).
LOCK_SCHEMAS = [
    ((2, 1), (2, 72), {'type': 'object', 'required': ['lock']}),
    ((2, 73), None, {
        'type': 'object',
        'properties': {'lock': {
            'type': ['object', 'null'],
            'properties': {'locked_reason': {
                'type': 'string', 'minLength': 1, 'maxLength': 255}},
            'additionalProperties': False}},
        'required': ['lock'], 'additionalProperties': False}),
]


def is_locked(instance):
    # An instance built without the field (an older peer's) is unlocked.
    return instance.obj_attr_is_set('locked') and bool(instance.locked)


def refuse_if_locked(req, instance):
    """409 when a non-administrator acts on a locked server."""
    if is_locked(instance) and not req.context.is_admin:
        raise http.HTTPError(409, 'Instance %s is locked: ask whoever '
                                  'locked it (or an administrator) to '
                                  'unlock it first.' % instance.uuid)


def is_expected_locked_by(context, instance):
    """False when the lock is not of the caller's kind (owner or admin).

    A caller of the server's project is its owner (an administrator
    too); anyone else acting on it is an administrator.
    """
    is_owner = instance.project_id == context.project_id
    expected = 'owner' if is_owner else 'admin'
    locked_by = instance.locked_by if is_locked(instance) else None
    return not locked_by or locked_by == expected


def lock(req, instance, body, compute):
    validation.validate(LOCK_SCHEMAS, req, body)
    http.authorize(req, LOCK_SERVER % 'lock',
                   {'project_id': instance.project_id,
                    'user_id': instance.user_id})
    reason = None
    if req.version >= (2, 73) and body['lock'] is not None:
        reason = body['lock'].get('locked_reason')
    compute().lock(req.context, instance, reason=reason)
    return 202, None


def unlock(req, instance, body, compute):
    target = {'project_id': instance.project_id, 'user_id': instance.user_id}
    http.authorize(req, LOCK_SERVER % 'unlock', target)
    if not is_expected_locked_by(req.context, instance):
        # The owner may not lift an administrator's lock.
        http.authorize(req, LOCK_SERVER % 'unlock:unlock_override', target)
    compute().unlock(req.context, instance)
    return 202, None


# Action name (the key of the request body) -> handler(req, instance, body,
# compute), as in nova.api.handlers.server_power.
ACTIONS = {
    'lock': lock,
    'unlock': unlock,
}

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

"""The power actions of a server: ``os-stop``, ``os-start``,
``reboot``, ``pause`` and ``unpause``.

Each answers 202 with no body once the instance's host was asked (the
server's status then moves on: SHUTOFF, ACTIVE, PAUSED); a server in the
wrong state, busy with another operation (a migration, say) or locked
answers 409 naming why. All exist at every microversion.
"""

from nova.api.handlers import server_lock
from nova.api import http
from nova.api import validation
from nova import exception

SERVERS = 'os_compute_api:servers:%s'
PAUSE_SERVER = 'os_compute_api:os-pause-server:%s'


def _no_argument(name):
    # Nova takes null or an empty object (tempest sends {}).
    return [(None, None, {
        'type': 'object',
        'properties': {name: {'type': ['null', 'object'],
                              'additionalProperties': False}},
        'required': [name], 'additionalProperties': False})]


REBOOT_SCHEMAS = [(None, None, {
    'type': 'object',
    'properties': {'reboot': {
        'type': 'object',
        # Nova takes the type in any case ("soft", "Hard").
        'properties': {'type': {'type': 'string',
                                'pattern': '^([Ss][Oo][Ff][Tt]|'
                                           '[Hh][Aa][Rr][Dd])$'}},
        'required': ['type'], 'additionalProperties': False}},
    'required': ['reboot'], 'additionalProperties': False,
})]

STOP_SCHEMAS = _no_argument('os-stop')
START_SCHEMAS = _no_argument('os-start')
PAUSE_SCHEMAS = _no_argument('pause')
UNPAUSE_SCHEMAS = _no_argument('unpause')


def _run(req, instance, rule, method, **kwargs):
    http.authorize(req, rule, {'project_id': instance.project_id})
    server_lock.refuse_if_locked(req, instance)
    try:
        method(req.context, instance, **kwargs)
    except exception.RPCPinnedToOldVersion as e:
        raise http.HTTPError(409, 'The host of the server cannot do this '
                                  'yet: %s' % e.format_message())
    return 202, None


def stop(req, instance, body, compute):
    validation.validate(STOP_SCHEMAS, req, body)
    return _run(req, instance, SERVERS % 'stop', compute().stop)


def start(req, instance, body, compute):
    validation.validate(START_SCHEMAS, req, body)
    return _run(req, instance, SERVERS % 'start', compute().start)


def reboot(req, instance, body, compute):
    validation.validate(REBOOT_SCHEMAS, req, body)
    return _run(req, instance, SERVERS % 'reboot', compute().reboot,
                reboot_type=body['reboot']['type'].upper())


def pause(req, instance, body, compute):
    validation.validate(PAUSE_SCHEMAS, req, body)
    return _run(req, instance, PAUSE_SERVER % 'pause', compute().pause)


def unpause(req, instance, body, compute):
    validation.validate(UNPAUSE_SCHEMAS, req, body)
    return _run(req, instance, PAUSE_SERVER % 'unpause', compute().unpause)


# Action name (the key of the request body) -> handler(req, instance, body,
# compute): nova.api.handlers.servers dispatches, handing over its
# compute() (the compute API) so that this module needs nothing of it.
ACTIONS = {
    'os-stop': stop,
    'os-start': start,
    'reboot': reboot,
    'pause': pause,
    'unpause': unpause,
}

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

"""``/servers/{id}/os-instance-actions``: what was done to a server.

The list shows the requests made about a server, newest first (``openstack
server event list``); show adds an action's events, the steps the services
took for it and how each ended (``server event show``). The microversion
changes the responses as in Nova:

====  ======================================================================
2.21  actions of deleted servers are found too
2.51  events for everyone who may show the action (before: only for
      those the ``:events`` policy allows); ``traceback`` stays theirs
2.58  ``updated_at``; list paging by ``limit`` and ``marker`` (a request
      id) with a ``next`` link, ``changes-since``; unknown query
      parameters are refused
2.62  ``hostId`` on events (the host hashed with the project); ``host``
      for those the ``:events`` policy allows
2.66  ``changes-before``
2.84  ``details`` on events for those the ``:events:details`` policy allows
====  ======================================================================
"""

import functools
import hashlib
import urllib.parse

from oslo_utils import timeutils

import nova.conf
from nova.api.handlers import servers
from nova.api import http
from nova.api import policy
from nova.api import validation
from nova import exception
from nova import objects

CONF = nova.conf.CONF

ACTIONS = 'os_compute_api:os-instance-actions:%s'
EVENTS_POLICY = ACTIONS % 'events'
DETAILS_POLICY = ACTIONS % 'events:details'

DELETED_SERVERS = (2, 21)
EVENTS_FOR_READERS = (2, 51)
PAGING = (2, 58)

# (first microversion, fields it added to an action)
ACTION_FIELDS = [
    ((2, 1), ('action', 'instance_uuid', 'message', 'project_id',
              'request_id', 'start_time', 'user_id')),
    ((2, 58), ('updated_at',)),
]

# (first microversion, event field, the policy that must also allow it or
# None: anyone shown the events)
EVENT_FIELDS = [
    ((2, 1), 'event', None),
    ((2, 1), 'start_time', None),
    ((2, 1), 'finish_time', None),
    ((2, 1), 'result', None),
    ((2, 1), 'traceback', EVENTS_POLICY),
    ((2, 62), 'hostId', None),
    ((2, 62), 'host', EVENTS_POLICY),
    ((2, 84), 'details', DETAILS_POLICY),
]

_TIMES = ('start_time', 'finish_time', 'updated_at')

# The query parameters of the list, per microversion range. Before 2.58
# any parameter is accepted and none is used, as in Nova.
_LIST_PARAMS = [
    (None, (2, 57), ()),
    ((2, 58), (2, 65), ('limit', 'marker', 'changes-since')),
    ((2, 66), None, ('limit', 'marker', 'changes-since',
                     'changes-before')),
]
_PARAM_SCHEMAS = {
    'limit': {'type': 'string', 'pattern': '^[0-9]+$'},
    'marker': {'type': 'string', 'minLength': 1},
    'changes-since': {'type': 'string', 'minLength': 1},
    'changes-before': {'type': 'string', 'minLength': 1},
}


def _time(value):
    # Nova's JSON rendering of a datetime (UTC, microseconds, no zone).
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f') if value else None


def host_id(host, project_id):
    """Nova's ``hostId``: the host hashed with the project, '' if none.

    The same host looks different to two projects, so a user can tell
    whether two of its events ran on one host without learning its name.
    """
    if not host:
        return ''
    return hashlib.sha224(
        ((project_id or '') + host).encode('utf-8')).hexdigest()


def _get_instance(req, server_id):
    """The server, deleted ones too from 2.21; 404 for another project's."""
    if req.version < DELETED_SERVERS:
        return servers.get_instance(req, server_id)
    context = req.context
    saved, context.read_deleted = context.read_deleted, 'yes'
    try:
        return servers.get_instance(req, server_id)
    finally:
        context.read_deleted = saved


def _action_view(req, action):
    body = {}
    for since, names in ACTION_FIELDS:
        if req.version >= since:
            for name in names:
                value = getattr(action, name)
                body[name] = _time(value) if name in _TIMES else value
    return body


def _event_fields(req, instance):
    """The event fields this caller sees here; None: no events at all."""
    target = {'project_id': instance.project_id}
    allowed = {}

    def allows(rule):
        if rule is None:
            return True
        if rule not in allowed:
            allowed[rule] = policy.authorize(req.context, rule, target)
        return allowed[rule]

    if req.version < EVENTS_FOR_READERS and not allows(EVENTS_POLICY):
        return None
    return [name for since, name, rule in EVENT_FIELDS
            if req.version >= since and allows(rule)]


def _event_view(event, fields, project_id):
    body = {}
    for name in fields:
        if name == 'hostId':
            body[name] = host_id(event.host, project_id)
        elif name in _TIMES:
            body[name] = _time(getattr(event, name))
        else:
            body[name] = getattr(event, name)
    return body


def _parse_time(query, name):
    try:
        return timeutils.parse_isotime(query[name])
    except ValueError as e:
        raise http.HTTPError(400, 'Invalid %s value %r: %s'
                             % (name, query[name], e))


@functools.lru_cache(maxsize=None)
def _query_schema(names):
    # One schema object per set of names, so its validator is built once.
    return {'type': 'object', 'additionalProperties': False,
            'properties': {name: _PARAM_SCHEMAS[name] for name in names}}


def _list_query(req):
    """(limit, marker, filters) of a list request; limit None: all."""
    names = validation.schema_for(_LIST_PARAMS, req.version)
    if not names:
        return None, None, {}
    query = {}
    for key in req.params:
        if len(req.params.getall(key)) > 1:
            raise http.HTTPError(400, 'Query parameter %s may be given only '
                                      'once.' % key)
        query[key] = req.params[key]
    validation.validate([(None, None, _query_schema(names))], req, query)
    filters = {name: _parse_time(query, name)
               for name in ('changes-since', 'changes-before')
               if name in query}
    if ('changes-since' in filters and 'changes-before' in filters and
            filters['changes-before'] < filters['changes-since']):
        raise http.HTTPError(400, 'changes-since must be earlier than or '
                                  'equal to changes-before.')
    limit = CONF.api.max_limit
    if 'limit' in query:
        limit = min(limit, int(query['limit']))
    return limit, query.get('marker'), filters


def _next_link(req, server_id, actions, limit):
    """Nova's ``links``: a ``next`` page when this one is full."""
    if not limit or len(actions) != limit:
        return None
    params = dict(sorted(req.params.items()))
    params['marker'] = actions[-1]['request_id']
    href = '%s%s/v2.1/servers/%s/os-instance-actions?%s' % (
        req.host_url, req.script_name, server_id,
        urllib.parse.urlencode(params))
    return [{'rel': 'next', 'href': href}]


def index(req, server_id):
    instance = _get_instance(req, server_id)
    http.authorize(req, ACTIONS % 'list',
                   {'project_id': instance.project_id})
    limit, marker, filters = _list_query(req)
    try:
        actions = objects.InstanceActionList.get_by_instance_uuid(
            req.context, instance.uuid, limit=limit, marker=marker,
            filters=filters)
    except exception.MarkerNotFound as e:
        raise http.HTTPError(400, e.format_message())
    body = {'instanceActions': [_action_view(req, a) for a in actions]}
    if req.version >= PAGING:
        links = _next_link(req, server_id, body['instanceActions'], limit)
        if links:
            body['links'] = links
    return 200, body


def show(req, server_id, request_id):
    instance = _get_instance(req, server_id)
    http.authorize(req, ACTIONS % 'show',
                   {'project_id': instance.project_id})
    try:
        action = objects.InstanceAction.get_by_request_id(
            req.context, instance.uuid, request_id)
    except exception.NotFound:
        raise http.HTTPError(404, 'Action %s could not be found for server '
                                  '%s.' % (request_id, server_id))
    body = _action_view(req, action)
    fields = _event_fields(req, instance)
    if fields is not None:
        # An action recorded by a service has no project: hash the
        # server's, so hostId stays comparable.
        project_id = action.project_id or instance.project_id
        body['events'] = [
            _event_view(event, fields, project_id) for event in
            objects.InstanceActionEventList.get_by_action(req.context,
                                                          action.id)]
    return 200, {'instanceAction': body}


ROUTES = [
    ('GET', '/servers/{server_id}/os-instance-actions', index),
    ('GET', '/servers/{server_id}/os-instance-actions/{request_id}', show),
]

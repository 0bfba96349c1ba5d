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

"""``/os-services``: the services, and taking a compute host out of use.

Nova's calls at every microversion (admin only):

* ``GET /os-services`` (``host``, ``binary`` filters); ``forced_down``
  from 2.11; ``id`` is the integer id before 2.53, the uuid from 2.53.
* Until 2.52, ``PUT /os-services/{enable,disable,disable-log-reason}``
  and (2.11) ``/force-down`` with ``{host, binary, ...}``; from 2.53
  ``PUT /os-services/{service_id}`` with ``status``, ``disabled_reason``
  and ``forced_down``.
* ``DELETE /os-services/{service_id}``: refused (409) for a compute that
  still hosts instances or takes part in a move; otherwise its compute
  nodes and their placement resource providers go with it.

A disabled compute is never chosen by the scheduler; a forced-down one
counts as down at once (nova.servicegroup). Nova's views have no room for
our service version: ``nova-manage service list`` shows it (version 3 and
newer computes live-migrate instances with vpmem).
"""

from oslo_log import log as logging
from oslo_utils import uuidutils

from nova.api.handlers import query_params
from nova.api import http
from nova.api import validation
from nova import exception
from nova import objects
from nova.objects import fields
from nova.objects import service as service_obj
from nova.scheduler.client import report
from nova import servicegroup

LOG = logging.getLogger(__name__)

LIST_RULE = 'os_compute_api:os-services:list'
UPDATE_RULE = 'os_compute_api:os-services:update'
DELETE_RULE = 'os_compute_api:os-services:delete'

FORCED_DOWN_VERSION = (2, 11)
# From here ``id`` is the uuid, and PUT /os-services/{service_id} replaces
# the per-action calls.
UUID_VERSION = (2, 53)
LEGACY_LAST = (2, 52)

# (first microversion, the keys a service row gains there)
VIEW_KEYS = (
    ((2, 1), ('id', 'binary', 'host', 'zone', 'status', 'state',
              'disabled_reason', 'updated_at')),
    (FORCED_DOWN_VERSION, ('forced_down',)),
)

# The availability zone of everything that is not a compute.
INTERNAL_ZONE = 'internal'
COMPUTE_ZONE = 'nova'

# -- request schemas ------------------------------------------------------

_NAME = {'type': 'string', 'minLength': 1, 'maxLength': 255}
_REASON = {'type': 'string', 'minLength': 1, 'maxLength': 255}


def _legacy_schema(with_forced_down):
    props = {'host': _NAME, 'binary': _NAME, 'disabled_reason': _REASON}
    if with_forced_down:
        props['forced_down'] = query_params.BOOLEAN
    return {'type': 'object', 'properties': props,
            'required': ['host', 'binary'], 'additionalProperties': False}


# Every per-action call takes the same body; each action reads its keys.
LEGACY_SCHEMAS = [
    (None, (2, 10), _legacy_schema(False)),
    (FORCED_DOWN_VERSION, LEGACY_LAST, _legacy_schema(True)),
]

UPDATE_SCHEMAS = [
    (UUID_VERSION, None, {
        'type': 'object',
        'properties': {
            'status': {'type': 'string', 'enum': ['enabled', 'disabled']},
            'disabled_reason': _REASON,
            'forced_down': query_params.BOOLEAN,
        },
        'additionalProperties': False,
    }),
]


# -- views ------------------------------------------------------------------

def _time(value):
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f') if value else None


def zone_of(service):
    return (COMPUTE_ZONE if service.binary == service_obj.COMPUTE_BINARY
            else INTERNAL_ZONE)


def service_view(service, version, up):
    """A service row as Nova shows it at ``version``; ``up``: its state."""
    values = {
        'id': service.uuid if version >= UUID_VERSION else service.id,
        'binary': service.binary,
        'host': service.host,
        'zone': zone_of(service),
        'status': 'disabled' if service.disabled else 'enabled',
        'state': 'up' if up else 'down',
        'disabled_reason': service.disabled_reason,
        'updated_at': _time(service.updated_at),
        'forced_down': service.forced_down,
    }
    return {key: values[key]
            for first, keys in VIEW_KEYS if version >= first
            for key in keys}


def _view(req, service):
    return service_view(service, req.version,
                        servicegroup.service_is_up(service))


# -- GET --------------------------------------------------------------------

def index(req):
    http.authorize(req, LIST_RULE)
    query_params.check_known(req, ('host', 'binary'))
    host = query_params.last(req, 'host')
    binary = query_params.last(req, 'binary')
    services = objects.ServiceList.get_all(req.context)
    return 200, {'services': [
        _view(req, s) for s in services
        if (host is None or s.host == host) and
        (binary is None or s.binary == binary)]}


# -- the per-action calls (until 2.52) ----------------------------------------

def _compute_by_host_and_binary(req, body):
    host, binary = body['host'], body['binary']
    if binary != service_obj.COMPUTE_BINARY:
        raise http.HTTPError(
            400, 'Updating a %s service is not supported: only '
                 'nova-compute services can be enabled, disabled or forced '
                 'down.' % binary)
    try:
        return objects.Service.get_by_host_and_binary(req.context, host,
                                                      binary)
    except exception.HostBinaryNotFound:
        raise http.HTTPError(404, 'Unknown service: no %s on host %s.'
                             % (binary, host))


def _legacy_request(req):
    http.authorize(req, UPDATE_RULE)
    body = validation.validate(LEGACY_SCHEMAS, req, http.json_body(req))
    return body, _compute_by_host_and_binary(req, body)


def _set_status(service, disabled, reason):
    service.disabled = disabled
    # A reason belongs to the disable it came with.
    service.disabled_reason = reason if disabled else None
    service.save()
    LOG.info('Compute service of %s %s%s', service.host,
             'disabled' if disabled else 'enabled',
             ': %s' % reason if reason else '')


def enable(req):
    body, service = _legacy_request(req)
    _set_status(service, False, None)
    return 200, {'service': {'host': body['host'], 'binary': body['binary'],
                             'status': 'enabled'}}


def disable(req):
    body, service = _legacy_request(req)
    _set_status(service, True, None)
    return 200, {'service': {'host': body['host'], 'binary': body['binary'],
                             'status': 'disabled'}}


def disable_log_reason(req):
    body, service = _legacy_request(req)
    reason = body.get('disabled_reason')
    if reason is None:
        raise http.HTTPError(400, 'Missing disabled_reason: say why the '
                                  'service is disabled, or use '
                                  'PUT /os-services/disable.')
    _set_status(service, True, reason)
    return 200, {'service': {'host': body['host'], 'binary': body['binary'],
                             'status': 'disabled',
                             'disabled_reason': reason}}


def _set_forced_down(service, forced_down):
    service.forced_down = forced_down
    service.save()
    LOG.info('Compute service of %s %s', service.host,
             'forced down' if forced_down else 'no longer forced down')


def force_down(req):
    body, service = _legacy_request(req)
    if 'forced_down' not in body:
        raise http.HTTPError(400, 'Missing forced_down: true marks the '
                                  'service down, false lets its '
                                  'heartbeats count again.')
    forced = query_params.to_bool(body['forced_down'])
    _set_forced_down(service, forced)
    return 200, {'service': {'host': body['host'], 'binary': body['binary'],
                             'forced_down': forced}}


def unknown_action(req, service_id):
    # Until 2.52 the only PUTs are the actions above (404 as in Nova).
    raise http.HTTPError(404, 'Unknown action %s: until microversion 2.52 '
                              'use enable, disable, disable-log-reason or '
                              'force-down (2.11).' % service_id)


# -- by id ------------------------------------------------------------------

def _get_by_id(req, service_id):
    """The service ``service_id`` names at this microversion; 400/404."""
    if req.version >= UUID_VERSION:
        if not uuidutils.is_uuid_like(service_id):
            raise http.HTTPError(400, 'Invalid uuid %s: from microversion '
                                      '2.53 a service is named by its uuid.'
                                 % service_id)
        lookup = objects.Service.get_by_uuid
    else:
        try:
            service_id = int(service_id)
        except ValueError:
            raise http.HTTPError(400, 'Invalid service id %s: before '
                                      'microversion 2.53 it is an integer.'
                                 % service_id)
        lookup = objects.Service.get_by_id
    try:
        return lookup(req.context, service_id)
    except exception.ServiceNotFound:
        raise http.HTTPError(404, 'Service %s not found.' % service_id)


def update(req, service_id):
    http.authorize(req, UPDATE_RULE)
    body = validation.validate(UPDATE_SCHEMAS, req, http.json_body(req))
    service = _get_by_id(req, service_id)
    status = body.get('status')
    if 'disabled_reason' in body and status != 'disabled':
        raise http.HTTPError(400, 'disabled_reason is only accepted with '
                                  'status "disabled".')
    if status is None and 'forced_down' not in body:
        raise http.HTTPError(400, 'Nothing to update: give status, '
                                  'forced_down or both.')
    if service.binary != service_obj.COMPUTE_BINARY:
        raise http.HTTPError(
            400, 'Updating a %s service is not supported: only '
                 'nova-compute services can be updated.' % service.binary)
    if status is not None:
        service.disabled = status == 'disabled'
        service.disabled_reason = body.get('disabled_reason')
    if 'forced_down' in body:
        service.forced_down = query_params.to_bool(body['forced_down'])
    service.save()
    LOG.info('Compute service of %s updated: disabled=%s (%s), '
             'forced_down=%s', service.host, service.disabled,
             service.disabled_reason, service.forced_down)
    return 200, {'service': _view(req, service)}


def delete(req, service_id):
    http.authorize(req, DELETE_RULE)
    service = _get_by_id(req, service_id)
    if service.binary == service_obj.COMPUTE_BINARY:
        _remove_compute(req.context, service)
    try:
        service.destroy()
    except exception.ServiceNotFound:
        raise http.HTTPError(404, 'Service %s not found.' % service_id)
    LOG.info('Service %s (%s on %s) deleted', service.uuid, service.binary,
             service.host)
    return 204, None


def _remove_compute(context, service):
    """Refuse (409) or drop the providers of ``service``'s nodes.

    The database drops the nodes with the service (db.service_destroy).
    """
    host = service.host
    if objects.InstanceList.get_uuids_by_host(context, host):
        raise http.HTTPError(
            409, 'Unable to delete the compute service of %s: it hosts '
                 'instances. Migrate or delete them first.' % host)
    nodes = objects.ComputeNodeList.get_all_by_host(context, host)
    for node in nodes:
        moving = objects.MigrationList.get_in_progress_by_host_and_node(
            context, host, node.hypervisor_hostname)
        if moving:
            raise http.HTTPError(
                409, 'Unable to delete the compute service of %s: '
                     'migrations %s involve it. Let them finish (confirm or '
                     'revert a resize) first.'
                     % (host, ', '.join(sorted(m.uuid for m in moving))))
    namespaces = [r for node in nodes for r in
                  objects.VPMEMNamespaceList.get_by_compute_node(context,
                                                                 node.uuid)]
    _check_namespaces_free(host, namespaces)
    reportclient = report.SchedulerReportClient()
    for node in nodes:
        _check_provider_unused(context, reportclient, host, node)
    for node in nodes:
        reportclient.delete_resource_provider(context, node.uuid)
    # Free means verified erased: nothing left to protect. Records of a
    # node that is gone would only confuse nova-manage vpmem audit.
    for record in namespaces:
        record.destroy(expected={'state': fields.VPMEMNamespaceState.FREE})


def _check_namespaces_free(host, namespaces):
    busy = sorted('%s (%s)' % (r.name, r.state) for r in namespaces
                  if r.state != fields.VPMEMNamespaceState.FREE)
    if busy:
        raise http.HTTPError(
            409, 'Unable to delete the compute service of %s: its vpmem '
                 'namespaces %s are not free (not yet erased). Start '
                 'nova-compute on %s so that it erases them, or see '
                 '"nova-manage vpmem list --host %s", then retry.'
                 % (host, ', '.join(busy), host, host))


def _check_provider_unused(context, reportclient, host, node):
    held = reportclient.get_provider_allocations(context, node.uuid)
    if not held:
        return
    quarantine = report.quarantine_consumer(node.uuid)
    if quarantine in held:
        raise http.HTTPError(
            409, 'Unable to delete the compute service of %s: placement '
                 'still holds its quarantined vpmem namespaces (their '
                 'erase has not succeeded). Erase them with "nova-manage '
                 'vpmem retry-erase %s NAMESPACE" first; "nova-manage '
                 'vpmem list --host %s" names them.' % (host, host, host))
    raise http.HTTPError(
        409, 'Unable to delete the compute service of %s: placement still '
             'holds allocations of %s on its resource provider %s. Remove '
             'them ("nova-manage vpmem audit" explains leftovers) first.'
             % (host, ', '.join(sorted(held)), node.uuid))


ROUTES = [
    ('GET', '/os-services', index),
    # The per-action paths come before {service_id}: until 2.52 they are
    # the only PUTs; from 2.53 "disable" is an (invalid) service id.
    ('PUT', '/os-services/enable', enable, (None, LEGACY_LAST)),
    ('PUT', '/os-services/disable', disable, (None, LEGACY_LAST)),
    ('PUT', '/os-services/disable-log-reason', disable_log_reason,
     (None, LEGACY_LAST)),
    ('PUT', '/os-services/force-down', force_down,
     (FORCED_DOWN_VERSION, LEGACY_LAST)),
    ('PUT', '/os-services/{service_id}', unknown_action,
     (None, LEGACY_LAST)),
    ('PUT', '/os-services/{service_id}', update, (UUID_VERSION, None)),
    ('DELETE', '/os-services/{service_id}', delete),
]

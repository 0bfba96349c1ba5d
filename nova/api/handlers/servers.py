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

"""``/servers``: create, list, show, delete, and the server actions.

Actions: ``os-migrateLive`` (live migration; ``force`` only before 2.68,
``block_migration`` may be ``"auto"`` from 2.25) and ``migrate`` (cold
migration, which this project does not support: 400).
"""

from nova.api import validation
from nova.api import wsgi
from nova.compute import api as compute_api
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects

_API = None
SERVERS = 'os_compute_api:servers:%s'


def compute():
    # Built on first use: it needs the RPC transport, set up by nova-api.
    global _API
    if _API is None:
        _API = compute_api.API()
    return _API


# -- schemas ---------------------------------------------------------------

_NETWORKS = {'oneOf': [{'type': 'string', 'enum': ['none', 'auto']},
                       {'type': 'array', 'maxItems': 0}]}

CREATE_SCHEMAS = [(None, None, {
    'type': 'object',
    'properties': {'server': {
        'type': 'object',
        'properties': {
            'name': validation.NAME,
            'flavorRef': {'type': ['string', 'integer'], 'minLength': 1},
            'imageRef': {'type': ['string', 'null']},
            'networks': _NETWORKS,
            # The CLI sends its image as a boot volume description; the
            # image is then taken from it (guests here have no disk).
            'block_device_mapping_v2': {'type': 'array'},
            'min_count': {'type': ['integer', 'string']},
            'max_count': {'type': ['integer', 'string']},
        },
        'required': ['name', 'flavorRef'],
    }},
    'required': ['server'],
    'additionalProperties': False,
})]

_BLOCK_MIGRATION_BOOL = {'type': 'boolean'}
_BLOCK_MIGRATION_AUTO = {'oneOf': [{'type': 'boolean'},
                                   {'type': 'string', 'enum': ['auto']}]}


def _live_migrate_schema(block_migration, with_force, required):
    props = {'host': validation.HOST, 'block_migration': block_migration}
    if with_force:
        props['force'] = {'type': 'boolean'}
    return {
        'type': 'object',
        'properties': {'os-migrateLive': {
            'type': 'object', 'properties': props,
            'required': required, 'additionalProperties': False}},
        'required': ['os-migrateLive'],
    }


# Before 2.25 disk_over_commit existed and block_migration was a boolean;
# 2.25 dropped disk_over_commit and allowed "auto"; 2.30 added force and
# 2.68 removed it again (forcing past the scheduler was a footgun).
LIVE_MIGRATE_SCHEMAS = [
    ((2, 1), (2, 24), {
        'type': 'object',
        'properties': {'os-migrateLive': {
            'type': 'object',
            'properties': {'host': validation.HOST,
                           'block_migration': _BLOCK_MIGRATION_BOOL,
                           'disk_over_commit': {'type': 'boolean'}},
            'required': ['host', 'block_migration'],
            'additionalProperties': False}},
        'required': ['os-migrateLive']}),
    ((2, 25), (2, 29), _live_migrate_schema(
        _BLOCK_MIGRATION_AUTO, False, ['block_migration', 'host'])),
    ((2, 30), (2, 67), _live_migrate_schema(
        _BLOCK_MIGRATION_AUTO, True, ['block_migration', 'host'])),
    ((2, 68), None, _live_migrate_schema(
        _BLOCK_MIGRATION_AUTO, False, ['block_migration', 'host'])),
]


# Cold migration: no body before 2.56 ({"migrate": null}); from 2.56 an
# optional destination host.
MIGRATE_SCHEMAS = [
    ((2, 1), (2, 55), {
        'type': 'object',
        'properties': {'migrate': {'type': 'null'}},
        'required': ['migrate'], 'additionalProperties': False}),
    ((2, 56), None, {
        'type': 'object',
        'properties': {'migrate': {'oneOf': [
            {'type': 'null'},
            {'type': 'object', 'properties': {'host': validation.HOST},
             'additionalProperties': False}]}},
        'required': ['migrate'], 'additionalProperties': False}),
]

# confirmResize / revertResize take no arguments.
_NO_ARGUMENT_SCHEMAS = {
    name: [(None, None, {
        'type': 'object', 'properties': {name: {'type': 'null'}},
        'required': [name], 'additionalProperties': False})]
    for name in ('confirmResize', 'revertResize')}


# -- views -----------------------------------------------------------------

_RESIZING = (task_states.RESIZE_PREP, task_states.RESIZE_MIGRATING,
             task_states.RESIZE_MIGRATED, task_states.RESIZE_FINISH)


def status_of(instance):
    """The API status the CLI waits on, from vm_state and task_state."""
    vm_state, task_state = instance.vm_state, instance.task_state
    if vm_state == vm_states.ACTIVE and task_state == task_states.MIGRATING:
        return 'MIGRATING'
    if vm_state == vm_states.ACTIVE and task_state in _RESIZING:
        return 'RESIZE'
    if (vm_state == vm_states.RESIZED and
            task_state == task_states.RESIZE_REVERTING):
        return 'REVERT_RESIZE'
    if task_state == task_states.DELETING:
        return 'DELETED' if vm_state == vm_states.DELETED else 'ACTIVE'
    return {
        vm_states.BUILDING: 'BUILD',
        vm_states.ACTIVE: 'ACTIVE',
        vm_states.PAUSED: 'PAUSED',
        vm_states.SUSPENDED: 'SUSPENDED',
        vm_states.STOPPED: 'SHUTOFF',
        vm_states.RESIZED: 'VERIFY_RESIZE',
        vm_states.DELETED: 'DELETED',
        vm_states.ERROR: 'ERROR',
    }.get(vm_state, 'UNKNOWN')


def _time(value):
    return value.strftime('%Y-%m-%dT%H:%M:%SZ') if value else None


def _links(req, kind, ident):
    base = req.host_url + req.script_name
    return [{'rel': 'self', 'href': '%s/v2.1/%s/%s' % (base, kind, ident)},
            {'rel': 'bookmark', 'href': '%s/%s/%s' % (base, kind, ident)}]


def _flavor_view(instance):
    flavor = instance.flavor
    return {'original_name': flavor.name, 'vcpus': flavor.vcpus,
            'ram': flavor.memory_mb, 'disk': flavor.root_gb,
            'ephemeral': flavor.ephemeral_gb, 'swap': flavor.swap,
            'extra_specs': dict(flavor.extra_specs)}


def server_view(req, instance):
    # Hosts are an operator's business (admin-only in Nova too).
    admin = req.context.is_admin
    body = {
        'id': instance.uuid,
        'name': instance.display_name,
        'status': status_of(instance),
        'tenant_id': instance.project_id,
        'user_id': instance.user_id,
        'created': _time(instance.created_at),
        'updated': _time(instance.updated_at or instance.created_at),
        'addresses': {},
        'links': _links(req, 'servers', instance.uuid),
        'image': ({'id': instance.image_ref,
                   'links': _links(req, 'images', instance.image_ref)}
                  if instance.image_ref else ''),
        'flavor': _flavor_view(instance),
        'OS-EXT-STS:vm_state': instance.vm_state,
        'OS-EXT-STS:task_state': instance.task_state,
        'OS-EXT-STS:power_state': instance.power_state,
        'OS-EXT-AZ:availability_zone': 'nova',
        'OS-SRV-USG:launched_at': _time(instance.launched_at),
        'OS-SRV-USG:terminated_at': _time(instance.terminated_at),
        'metadata': {}, 'tags': [], 'security_groups': [],
        'os-extended-volumes:volumes_attached': [],
        'locked': False, 'description': None, 'config_drive': '',
        'key_name': None, 'hostId': '', 'progress': 0,
    }
    if admin:
        body['OS-EXT-SRV-ATTR:host'] = instance.host
        body['OS-EXT-SRV-ATTR:hypervisor_hostname'] = instance.node
        body['OS-EXT-SRV-ATTR:instance_name'] = 'instance-%s' % instance.uuid
    fault = instance.fault if 'fault' in instance else None
    if fault is not None and instance.vm_state == vm_states.ERROR:
        body['fault'] = {'message': fault.message, 'code': fault.code,
                         'created': _time(fault.created_at)}
        if admin:
            body['fault']['details'] = fault.details
    return body


# -- lookups ---------------------------------------------------------------

def get_instance(req, server_id):
    """The instance the caller may see: 404 for others' (no leak)."""
    try:
        instance = objects.Instance.get_by_uuid(
            req.context, server_id,
            expected_attrs=['flavor', 'resources', 'fault'])
    except exception.InstanceNotFound:
        raise wsgi.HTTPError(404, 'Instance %s could not be found.'
                             % server_id)
    if (not req.context.is_admin and
            instance.project_id != req.context.project_id):
        raise wsgi.HTTPError(404, 'Instance %s could not be found.'
                             % server_id)
    return instance


def find_flavor(req, ref):
    ref = str(ref).rstrip('/').rsplit('/', 1)[-1]
    try:
        return objects.Flavor.get_by_flavor_id(req.context, ref)
    except exception.FlavorNotFound:
        pass
    try:
        return objects.Flavor.get_by_name(req.context, ref)
    except exception.FlavorNotFound:
        raise wsgi.HTTPError(400, 'Flavor %s could not be found.' % ref)


# -- handlers --------------------------------------------------------------

def create(req):
    from nova.api.handlers import images
    wsgi.authorize(req, SERVERS % 'create')
    body = validation.validate(CREATE_SCHEMAS, req, wsgi.json_body(req))
    server = body['server']
    flavor = find_flavor(req, server['flavorRef'])
    image_ref = server.get('imageRef') or None
    for bdm in server.get('block_device_mapping_v2') or []:
        if bdm.get('source_type') == 'image' and bdm.get('uuid'):
            image_ref = image_ref or bdm['uuid']
    image = images.find(image_ref) if image_ref else None
    if image_ref and image is None:
        raise wsgi.HTTPError(400, 'Image %s could not be found.' % image_ref)
    try:
        # The driver boots a guest kernel from the image's properties.
        instance = compute().create(
            req.context, flavor, server['name'], image_ref=image_ref,
            image_meta=dict(image['properties']) if image else None)
    except exception.Invalid as e:
        raise wsgi.HTTPError(400, e.format_message())
    return 202, {'server': {
        'id': instance.uuid, 'links': _links(req, 'servers', instance.uuid),
        'OS-DCF:diskConfig': 'MANUAL', 'security_groups': [],
        'adminPass': ''}}


def _list(req):
    filters = {}
    # The caller's project, unless an administrator asks for all of them.
    all_projects = req.context.is_admin and (
        'all_tenants' in req.params or 'all_projects' in req.params)
    if not all_projects:
        filters['project_id'] = req.context.project_id
    if req.params.get('name'):
        filters['display_name'] = req.params['name']
    if req.params.get('host') and req.context.is_admin:
        filters['host'] = req.params['host']
    return objects.InstanceList.get_by_filters(
        req.context, filters, expected_attrs=['flavor', 'fault'])


def index(req):
    wsgi.authorize(req, SERVERS % 'index')
    return 200, {'servers': [
        {'id': i.uuid, 'name': i.display_name,
         'links': _links(req, 'servers', i.uuid)} for i in _list(req)]}


def detail(req):
    wsgi.authorize(req, SERVERS % 'detail')
    return 200, {'servers': [server_view(req, i) for i in _list(req)]}


def show(req, server_id):
    instance = get_instance(req, server_id)
    wsgi.authorize(req, SERVERS % 'show',
                   {'project_id': instance.project_id})
    return 200, {'server': server_view(req, instance)}


def delete(req, server_id):
    instance = get_instance(req, server_id)
    wsgi.authorize(req, SERVERS % 'delete',
                   {'project_id': instance.project_id})
    compute().delete(req.context, instance)
    return 204, None


def _live_migrate(req, instance, args):
    wsgi.authorize(req, 'os_compute_api:os-migrate-server:migrate_live',
                   {'project_id': instance.project_id})
    args = args or {}
    block = args.get('block_migration', False)
    if block == 'auto':
        # Guests here have no disk to copy: "auto" means no block copy.
        block = False
    try:
        compute().live_migrate(req.context, instance,
                               host_name=args.get('host'),
                               force=bool(args.get('force', False)),
                               block_migration=block)
    except exception.ComputeHostNotFound as e:
        raise wsgi.HTTPError(404, e.format_message())
    except exception.NoValidHost as e:
        raise wsgi.HTTPError(400, e.format_message())
    return 202, None


def _migrate(req, instance, args):
    from nova.api.handlers import images
    wsgi.authorize(req, 'os_compute_api:os-migrate-server:migrate',
                   {'project_id': instance.project_id})
    # The destination defines the guest anew, from the same image.
    image = images.find(instance.image_ref) if instance.image_ref else None
    try:
        compute().migrate(
            req.context, instance, host_name=(args or {}).get('host'),
            image_meta=dict(image['properties']) if image else None)
    except exception.ComputeHostNotFound as e:
        raise wsgi.HTTPError(404, e.format_message())
    except exception.NoValidHost as e:
        raise wsgi.HTTPError(400, e.format_message())
    return 202, None


def _finish_resize(req, instance, method):
    try:
        method(req.context, instance)
    except exception.MigrationNotFoundByStatus as e:
        raise wsgi.HTTPError(400, e.format_message())


def action(req, server_id):
    from nova.api.handlers import server_lock
    from nova.api.handlers import server_power
    body = wsgi.json_body(req)
    instance = get_instance(req, server_id)
    for actions in (server_power.ACTIONS, server_lock.ACTIONS):
        for name, handler in actions.items():
            if name in body:
                return handler(req, instance, body)
    if 'os-migrateLive' in body:
        validation.validate(LIVE_MIGRATE_SCHEMAS, req, body)
        return _live_migrate(req, instance, body['os-migrateLive'])
    if 'migrate' in body:
        validation.validate(MIGRATE_SCHEMAS, req, body)
        return _migrate(req, instance, body['migrate'])
    if 'confirmResize' in body:
        validation.validate(_NO_ARGUMENT_SCHEMAS['confirmResize'], req, body)
        wsgi.authorize(req, SERVERS % 'confirm_resize',
                       {'project_id': instance.project_id})
        _finish_resize(req, instance, compute().confirm_resize)
        return 204, None
    if 'revertResize' in body:
        validation.validate(_NO_ARGUMENT_SCHEMAS['revertResize'], req, body)
        wsgi.authorize(req, SERVERS % 'revert_resize',
                       {'project_id': instance.project_id})
        _finish_resize(req, instance, compute().revert_resize)
        return 202, None
    raise wsgi.HTTPError(400, 'Unsupported server action: %s.'
                         % ', '.join(sorted(body)) or '(none)')


ROUTES = [
    ('POST', '/servers', create),
    ('GET', '/servers', index),
    ('GET', '/servers/detail', detail),
    ('GET', '/servers/{server_id}', show),
    ('DELETE', '/servers/{server_id}', delete),
    ('POST', '/servers/{server_id}/action', action),
]

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

"""``/servers``: create, list, show, update, delete, and the actions.

The bodies are built by :mod:`server_views` and the list queries read by
:mod:`server_filters`, both per microversion. Actions: ``os-migrateLive``
(live migration; ``force`` only before 2.68, ``block_migration`` may be
``"auto"`` from 2.25), ``migrate`` (cold migration), ``confirmResize`` /
``revertResize``, the power actions (:mod:`server_power`) and ``lock`` /
``unlock`` (:mod:`server_lock`). A locked server refuses every action but
lock/unlock, and its deletion, to non-administrators (409).
"""

import secrets
import urllib.parse

from oslo_log import log as logging

import nova.conf
from nova.api.handlers import images
from nova.api.handlers import keypairs
from nova.api.handlers import server_filters
from nova.api.handlers import server_lock
from nova.api.handlers import server_power
from nova.api.handlers import server_views
from nova.api import http
from nova.api import policy
from nova.api import validation
from nova.compute import api as compute_api
from nova import exception
from nova import objects
from nova import servicegroup

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)
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
# Printable, as Nova's server descriptions (null clears it).
DESCRIPTION = {'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255,
               'pattern': r'^[^\x00-\x1f\x7f]*$'}
# A server name: printable, without leading or trailing blanks.
SERVER_NAME = {'type': 'string', 'minLength': 1, 'maxLength': 255,
               'pattern': r'^[^\s\x00-\x1f\x7f]'
                          r'([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$'}


# How many servers one request makes: a positive whole number, as a
# number or its digits (Nova's schema).
_COUNT = {'type': ['integer', 'string'], 'pattern': '^[1-9][0-9]*$',
          'minimum': 1, 'minLength': 1}


def _create_schema(with_description, networks_required=False):
    properties = {
        'name': validation.NAME,
        'flavorRef': {'type': ['string', 'integer'], 'minLength': 1},
        'imageRef': {'type': ['string', 'null']},
        'networks': _NETWORKS,
        # The CLI sends its image as a boot volume description; the
        # image is then taken from it (guests here have no disk).
        'block_device_mapping_v2': {'type': 'array'},
        'min_count': _COUNT,
        'max_count': _COUNT,
        # The caller's key pair (os-keypairs) the server is booted with.
        'key_name': validation.NAME,
        'adminPass': {'type': 'string'},
    }
    # Before 2.19 a description is refused, as Nova's schema refuses any
    # key it does not know (other unknown keys pass here: the CLI sends
    # some this project has no use for).
    properties['description'] = DESCRIPTION if with_description else {
        'not': {}}
    required = ['name', 'flavorRef'] + (['networks'] if networks_required
                                        else [])
    return {
        'type': 'object',
        'properties': {'server': {
            'type': 'object', 'properties': properties,
            'required': required,
        }},
        'required': ['server'],
        'additionalProperties': False,
    }


# A description may be given from 2.19; networks are required from 2.37.
CREATE_SCHEMAS = [
    (None, (2, 18), _create_schema(False)),
    ((2, 19), (2, 36), _create_schema(True)),
    ((2, 37), None, _create_schema(True, networks_required=True)),
]


def _update_schema(with_description):
    properties = {'name': SERVER_NAME}
    if with_description:
        properties['description'] = DESCRIPTION
    return {
        'type': 'object',
        'properties': {'server': {
            'type': 'object', 'properties': properties,
            'additionalProperties': False}},
        'required': ['server'],
        'additionalProperties': False,
    }


# PUT /servers/{id}: the name; from 2.19 the description too.
UPDATE_SCHEMAS = [
    (None, (2, 18), _update_schema(False)),
    ((2, 19), None, _update_schema(True)),
]

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
# From 2.34 the conductor's checks run after the 202: a refusal shows in
# the migration ('error') and the action's events, not as a 400.
LIVE_MIGRATE_ASYNC_FROM = (2, 34)
# Before 2.30 a named host was taken as given (no scheduler check), as
# force=true does from 2.30 to 2.67.
LIVE_MIGRATE_FORCE_FROM = (2, 30)


# Cold migration: before 2.56 no argument ({"migrate": null}, or {} as
# tempest sends; a host is refused rather than ignored); from 2.56 an
# optional destination host.
MIGRATE_SCHEMAS = [
    ((2, 1), (2, 55), {
        'type': 'object',
        'properties': {'migrate': {'type': ['object', 'null'],
                                   'additionalProperties': False}},
        'required': ['migrate'], 'additionalProperties': False}),
    ((2, 56), None, {
        'type': 'object',
        'properties': {'migrate': {
            'type': ['object', 'null'],
            'properties': {'host': validation.HOST},
            'additionalProperties': False}},
        'required': ['migrate'], 'additionalProperties': False}),
]

# confirmResize / revertResize read no argument (null or {}, as Nova).
_NO_ARGUMENT_SCHEMAS = {
    name: [(None, None, {'type': 'object', 'required': [name]})]
    for name in ('confirmResize', 'revertResize')}


# -- views -----------------------------------------------------------------

# What each audience of server_views stands for in the policy.
_VIEW_RULES = {
    server_views.EXTENDED: 'os_compute_api:os-extended-server-attributes',
    server_views.HOST_STATUS: SERVERS % 'show:host_status',
    'host_status_unknown_only': SERVERS % 'show:host_status:unknown-only',
    'flavor_extra_specs': 'os_compute_api:os-flavor-extra-specs:index',
}


def status_of(instance):
    """The API status of an instance (ACTIVE, BUILD, MIGRATING ...)."""
    return server_views.status(instance)


def host_status(context, host):
    """Nova's host_status of a compute host (UP, DOWN, ...)."""
    try:
        service = objects.Service.get_by_compute_host(context, host)
    except exception.ComputeHostNotFound:
        return ''
    except Exception as e:
        # UNKNOWN is what this attribute says when the host's state cannot
        # be read; a listing does not fail for it.
        LOG.warning('Cannot read the service of host %s: %s', host, e)
        return 'UNKNOWN'
    if service.forced_down:
        return 'DOWN'
    if service.disabled:
        return 'MAINTENANCE'
    # Without a recent heartbeat nothing is known of the host itself.
    return 'UP' if servicegroup.service_is_up(service) else 'UNKNOWN'


def view_env(req):
    """The ViewEnv of a request; policy answers and lookups are cached."""
    context = req.context
    answers, found_images, statuses = {}, {}, {}

    def allows(what, instance):
        key = (what, instance.project_id, instance.user_id)
        if key not in answers:
            answers[key] = policy.authorize(
                context, _VIEW_RULES[what],
                {'project_id': instance.project_id,
                 'user_id': instance.user_id})
        return answers[key]

    def image(ref):
        if ref not in found_images:
            found_images[ref] = images.find(ref)
        return found_images[ref]

    def status(host):
        if host not in statuses:
            statuses[host] = host_status(context, host)
        return statuses[host]

    return server_views.ViewEnv(
        base_url=req.host_url + req.script_name, version=req.version,
        is_admin=context.is_admin, allows=allows, image=image,
        host_status=status)


def server_view(req, instance):
    """The body of ``GET /servers/{id}`` at the request's microversion."""
    return server_views.show(instance, view_env(req))


# -- lookups ---------------------------------------------------------------

def get_instance(req, server_id):
    """The instance the caller may see: 404 for others' (no leak)."""
    try:
        instance = objects.Instance.get_by_uuid(
            req.context, server_id, expected_attrs=['flavor', 'resources'])
    except exception.InstanceNotFound:
        raise http.HTTPError(404, 'Instance %s could not be found.'
                             % server_id)
    if (not req.context.is_admin and
            instance.project_id != req.context.project_id):
        raise http.HTTPError(404, 'Instance %s could not be found.'
                             % server_id)
    if server_views.status(instance) in server_views.FAULT_STATUSES:
        # Read only where a view shows it: one query less for the rest
        # (actions, and the instance they hand to the services).
        instance.obj_load_attr('fault')
    return instance


def find_flavor(req, ref):
    """The flavor ``ref`` names, if the caller's project may use it
    (Nova: a private flavor without access is as unknown, 400)."""
    ref = str(ref).rstrip('/').rsplit('/', 1)[-1]
    flavor = None
    for lookup in (objects.Flavor.get_by_flavor_id,
                   objects.Flavor.get_by_name):
        try:
            flavor = lookup(req.context, ref)
            break
        except exception.FlavorNotFound:
            pass
    if flavor is None or not (
            flavor.is_public or req.context.is_admin or
            req.context.project_id in flavor.access_projects()):
        raise http.HTTPError(400, 'Flavor %s could not be found.' % ref)
    return flavor


# -- handlers --------------------------------------------------------------

def create(req):
    http.authorize(req, SERVERS % 'create')
    body = validation.validate(CREATE_SCHEMAS, req, http.json_body(req))
    server = body['server']
    flavor = find_flavor(req, server['flavorRef'])
    image_ref = server.get('imageRef') or None
    for bdm in server.get('block_device_mapping_v2') or []:
        if bdm.get('source_type') == 'image' and bdm.get('uuid'):
            image_ref = image_ref or bdm['uuid']
    image = images.find(image_ref) if image_ref else None
    if image_ref and image is None:
        raise http.HTTPError(400, 'Image %s could not be found.' % image_ref)
    count = _count(server)
    # Kept with the server (shown as key_name); no guest agent here
    # receives the key itself.
    changes = {}
    if server.get('key_name') is not None:
        changes['key_name'] = keypairs.find_for_server(
            req.context, server['key_name']).name
    if server.get('description') is not None:
        changes['display_description'] = server['description']
    created = []
    for index in range(1, count + 1):
        # Nova names the servers of one request "<name>-<n>".
        name = server['name'] if count == 1 else '%s-%d' % (
            server['name'], index)
        try:
            # The driver boots a guest kernel from the image's properties.
            instance = compute().create(
                req.context, flavor, name, image_ref=image_ref,
                image_meta=dict(image['properties']) if image else None)
        except exception.Invalid as e:
            raise http.HTTPError(400, e.format_message())
        if changes:
            compute().update_instance(req.context, instance, changes)
        created.append(instance)
    # Nova answers the password asked for, else a generated one; no guest
    # agent here sets it.
    admin_pass = server.get('adminPass') or secrets.token_urlsafe(9)
    # Several servers: Nova answers with the first.
    return 202, {'server': server_views.created(created[0], view_env(req),
                                                admin_pass)}


def _count(server):
    """How many servers to make: max_count (default min_count), 1 up."""
    min_count = int(server.get('min_count', 1))
    max_count = int(server.get('max_count', min_count))
    if min_count > max_count:
        raise http.HTTPError(400, 'min_count (%d) must be <= max_count (%d).'
                             % (min_count, max_count))
    return max_count


def _flavor_filter(req, filters):
    """Flavor id -> instance_type_id; False if no such flavor."""
    flavorid = filters.pop('flavor', None)
    if flavorid is None:
        return True
    try:
        flavor = objects.Flavor.get_by_flavor_id(req.context, flavorid)
    except exception.FlavorNotFound:
        return False
    filters['instance_type_id'] = flavor.id
    return True


def _image_filter(filters):
    # A server records the ref it was booted from: the image's id or name.
    ref = filters.get('image_ref')
    image = images.find(ref) if ref else None
    if image:
        filters['image_ref'] = sorted({image['id'], image['name'], ref})


def _list(req, all_projects_rule):
    """One page of the caller's servers: (instances, page size)."""
    query = server_filters.build(
        req.params, req.version, req.context,
        lambda: policy.authorize(req.context, SERVERS % all_projects_rule))
    filters = dict(query.filters)
    if query.nothing or not _flavor_filter(req, filters):
        return [], None
    _image_filter(filters)
    max_limit = CONF.api.max_limit
    if query.limit == 0:
        # Nova answers limit=0 with an empty page, not a default one.
        return [], 0
    limit = min(max_limit, query.limit or max_limit)
    try:
        instances = objects.InstanceList.get_by_filters(
            req.context, filters, sort_key=query.sort_key,
            sort_dir=query.sort_dir, limit=limit, marker=query.marker,
            expected_attrs=['flavor', 'fault'])
    except exception.MarkerNotFound:
        raise http.HTTPError(400, 'marker [%s] not found' % query.marker)
    return instances, limit


def _next_links(req, collection, instances, limit):
    """``servers_links``: the next page when this one is full."""
    if not limit or len(instances) != limit:
        return []
    params = [(key, value) for key, value in req.params.items()
              if key != 'marker']
    params.append(('marker', instances[-1].uuid))
    return [{'rel': 'next', 'href': '%s%s/v2.1/%s?%s' % (
        req.host_url, req.script_name, collection,
        urllib.parse.urlencode(params))}]


def _list_body(req, collection, instances, limit, view):
    body = {'servers': [view(instance) for instance in instances]}
    links = _next_links(req, collection, instances, limit)
    if links:
        body['servers_links'] = links
    return body


def index(req):
    http.authorize(req, SERVERS % 'index')
    instances, limit = _list(req, 'index:get_all_tenants')
    env = view_env(req)
    return 200, _list_body(req, 'servers', instances, limit,
                           lambda i: server_views.summary(i, env))


def detail(req):
    http.authorize(req, SERVERS % 'detail')
    instances, limit = _list(req, 'detail:get_all_tenants')
    env = view_env(req)
    return 200, _list_body(req, 'servers/detail', instances, limit,
                           lambda i: server_views.detail(i, env))


def show(req, server_id):
    instance = get_instance(req, server_id)
    http.authorize(req, SERVERS % 'show',
                   {'project_id': instance.project_id})
    return 200, {'server': server_view(req, instance)}


def update(req, server_id):
    instance = get_instance(req, server_id)
    http.authorize(req, SERVERS % 'update',
                   {'project_id': instance.project_id,
                    'user_id': instance.user_id})
    body = validation.validate(UPDATE_SCHEMAS, req, http.json_body(req))
    changes = {}
    if 'name' in body['server']:
        changes['display_name'] = body['server']['name']
    if 'description' in body['server']:
        # null removes the description.
        changes['display_description'] = body['server']['description']
    if changes:
        instance = compute().update_instance(req.context, instance, changes)
    return 200, {'server': server_views.update(instance, view_env(req))}


def delete(req, server_id):
    instance = get_instance(req, server_id)
    http.authorize(req, SERVERS % 'delete',
                   {'project_id': instance.project_id})
    server_lock.refuse_if_locked(req, instance)
    compute().delete(req.context, instance)
    return 204, None


def _live_migrate(req, instance, args):
    http.authorize(req, 'os_compute_api:os-migrate-server:migrate_live',
                   {'project_id': instance.project_id})
    args = args or {}
    block = args.get('block_migration', False)
    if block == 'auto':
        # Guests here have no disk to copy: "auto" means no block copy.
        block = False
    if req.version >= LIVE_MIGRATE_FORCE_FROM:
        force = bool(args.get('force', False))
    else:
        force = args.get('host') is not None
    try:
        compute().live_migrate(
            req.context, instance, host_name=args.get('host'),
            force=force, block_migration=block,
            async_=req.version >= LIVE_MIGRATE_ASYNC_FROM)
    except (exception.ComputeHostNotFound, exception.NoValidHost) as e:
        # Nova: a destination that does not exist is a bad request (tempest
        # test_invalid_host_for_migration expects 400), not a missing URL.
        raise http.HTTPError(400, e.format_message())
    return 202, None


def _migrate(req, instance, args):
    http.authorize(req, 'os_compute_api:os-migrate-server:migrate',
                   {'project_id': instance.project_id})
    server_lock.refuse_if_locked(req, instance)
    # The destination defines the guest anew, from the same image.
    image = images.find(instance.image_ref) if instance.image_ref else None
    try:
        compute().migrate(
            req.context, instance, host_name=(args or {}).get('host'),
            image_meta=dict(image['properties']) if image else None)
    except (exception.ComputeHostNotFound, exception.NoValidHost) as e:
        # As for a live migration: an unknown destination is 400 in Nova.
        raise http.HTTPError(400, e.format_message())
    return 202, None


def _finish_resize(req, instance, method):
    server_lock.refuse_if_locked(req, instance)
    try:
        method(req.context, instance)
    except exception.MigrationNotFoundByStatus as e:
        raise http.HTTPError(400, e.format_message())


def action(req, server_id):
    body = http.json_body(req)
    instance = get_instance(req, server_id)
    for actions in (server_power.ACTIONS, server_lock.ACTIONS):
        for name, handler in actions.items():
            if name in body:
                return handler(req, instance, body, compute)
    if 'os-migrateLive' in body:
        validation.validate(LIVE_MIGRATE_SCHEMAS, req, body)
        # The policy first (403), then the lock (409), as Nova.
        http.authorize(req, 'os_compute_api:os-migrate-server:migrate_live',
                       {'project_id': instance.project_id})
        server_lock.refuse_if_locked(req, instance)
        return _live_migrate(req, instance, body['os-migrateLive'])
    if 'migrate' in body:
        validation.validate(MIGRATE_SCHEMAS, req, body)
        return _migrate(req, instance, body['migrate'])
    if 'confirmResize' in body:
        validation.validate(_NO_ARGUMENT_SCHEMAS['confirmResize'], req, body)
        http.authorize(req, SERVERS % 'confirm_resize',
                       {'project_id': instance.project_id})
        _finish_resize(req, instance, compute().confirm_resize)
        return 204, None
    if 'revertResize' in body:
        validation.validate(_NO_ARGUMENT_SCHEMAS['revertResize'], req, body)
        http.authorize(req, SERVERS % 'revert_resize',
                       {'project_id': instance.project_id})
        _finish_resize(req, instance, compute().revert_resize)
        return 202, None
    raise http.HTTPError(400, 'Unsupported server action: %s.'
                         % (', '.join(sorted(body)) or '(none)'))


ROUTES = [
    ('POST', '/servers', create),
    ('GET', '/servers', index),
    ('GET', '/servers/detail', detail),
    ('GET', '/servers/{server_id}', show),
    ('PUT', '/servers/{server_id}', update),
    ('DELETE', '/servers/{server_id}', delete),
    ('POST', '/servers/{server_id}/action', action),
]

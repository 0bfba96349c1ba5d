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

"""What ``/servers`` answers, at each microversion: pure functions.

A server's body is built from :data:`FIELDS`, one row per attribute:
the microversions it exists in, the views it belongs to and who may see
it. The handlers resolve what needs the database or the policy (images,
host states, policy answers) into a :class:`ViewEnv` first, so these
functions only read their arguments.

Views:

* ``show`` (``GET /servers/{id}``): every scope.
* ``detail`` (``GET /servers/detail``): as show, without ``server_groups``.
* ``update`` (``PUT /servers/{id}``): before 2.75 only the basic scope
  (no ``OS-EXT-*`` attributes, no availability zone, ...); from 2.75 the
  same body as show.
"""

import collections
import datetime
import hashlib
import re

from nova.compute import task_states
from nova.compute import vm_states

# Scopes of an attribute: in every view; in the full views (show, detail,
# update from 2.75); only where one server is shown (show, update).
BASIC = 'basic'
FULL = 'full'
SINGLE = 'single'

# Audiences: who sees an attribute (None: everyone who sees the server).
EXTENDED = 'extended'          # OS-EXT-SRV-ATTR:* (admin by default)
NOT_EXTENDED = 'not-extended'  # the hostname shown to the others (2.90)
HOST_STATUS = 'host_status'    # host_status (2.16, admin by default)

_SHOW_SCOPES = frozenset((BASIC, FULL, SINGLE))
_DETAIL_SCOPES = frozenset((BASIC, FULL))
# (first, last, scopes) of the PUT /servers/{id} answer.
_UPDATE_SCOPES = [
    ((2, 1), (2, 74), frozenset((BASIC, SINGLE))),
    ((2, 75), None, _SHOW_SCOPES),
]

# Statuses in which Nova shows a fault, and a progress.
FAULT_STATUSES = ('ERROR', 'DELETED')
PROGRESS_STATUSES = ('ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE',
                     'MIGRATING')

# The API status of a server: vm_state -> {task_state: status}, where
# 'default' covers every task_state not named. The states this project
# never enters (rescued, shelved, ...) are listed too, as Nova's status
# names: filtering by such a status answers an empty list, not a 400.
_RESIZING = {task_states.RESIZE_PREP: 'RESIZE',
             task_states.RESIZE_MIGRATING: 'RESIZE',
             task_states.RESIZE_MIGRATED: 'RESIZE',
             task_states.RESIZE_FINISH: 'RESIZE'}
_REBUILDING = {'rebuilding': 'REBUILD',
               'rebuild_block_device_mapping': 'REBUILD',
               'rebuild_spawning': 'REBUILD'}
STATE_MAP = {
    vm_states.ACTIVE: dict(
        {'default': 'ACTIVE',
         task_states.REBOOTING: 'REBOOT',
         'reboot_pending': 'REBOOT',
         'reboot_started': 'REBOOT',
         task_states.REBOOTING_HARD: 'HARD_REBOOT',
         'reboot_pending_hard': 'HARD_REBOOT',
         'reboot_started_hard': 'HARD_REBOOT',
         'updating_password': 'PASSWORD',
         task_states.MIGRATING: 'MIGRATING'},
        **_REBUILDING, **_RESIZING),
    vm_states.BUILDING: {'default': 'BUILD'},
    vm_states.STOPPED: dict({'default': 'SHUTOFF'}, **_RESIZING,
                            **_REBUILDING),
    vm_states.RESIZED: {'default': 'VERIFY_RESIZE',
                        task_states.RESIZE_REVERTING: 'REVERT_RESIZE'},
    vm_states.PAUSED: {'default': 'PAUSED',
                       task_states.MIGRATING: 'MIGRATING'},
    vm_states.SUSPENDED: {'default': 'SUSPENDED'},
    'rescued': {'default': 'RESCUE'},
    vm_states.ERROR: dict({'default': 'ERROR'}, **_REBUILDING),
    vm_states.DELETED: {'default': 'DELETED'},
    'soft-delete': {'default': 'SOFT_DELETED'},
    'shelved': {'default': 'SHELVED'},
    'shelved_offloaded': {'default': 'SHELVED_OFFLOADED'},
}

DEFAULT_AVAILABILITY_ZONE = 'nova'


def status_from_states(vm_state, task_state):
    tasks = STATE_MAP.get(vm_state, {'default': 'UNKNOWN'})
    return tasks.get(task_state, tasks['default'])


def states_from_statuses(statuses):
    """(vm_states, task_states) whose status is one of ``statuses``.

    Case-insensitive; task_states holds 'default' when the status is a
    vm_state's own (then any task_state matches).
    """
    wanted = {status.lower() for status in statuses}
    vms, tasks = set(), set()
    for vm_state, by_task in STATE_MAP.items():
        for task_state, status in by_task.items():
            if status.lower() in wanted:
                vms.add(vm_state)
                tasks.add(task_state)
    return sorted(vms), sorted(tasks)


class ViewEnv(collections.namedtuple('ViewEnv', [
        'base_url', 'version', 'is_admin', 'allows', 'image', 'host_status'])):
    """What a view needs beyond the instance.

    ``base_url``: scheme, host and mount point of the API (no /v2.1).
    ``allows(audience_or_rule, instance)``: the policy's answer.
    ``image(ref)``: the catalog image of an image ref, or None.
    ``host_status(host)``: UP, DOWN, MAINTENANCE, UNKNOWN or ''.
    """


# -- small pieces ------------------------------------------------------------

OMIT = object()


def _get(instance, name, default=None):
    # Objects built by hand (tests, RPC) may lack a field: show its default.
    if instance.obj_attr_is_set(name):
        value = getattr(instance, name)
        return default if value is None and default is not None else value
    return default


def iso_time(value):
    """``2025-01-01T00:00:00Z``, as created/updated are written."""
    return value.strftime('%Y-%m-%dT%H:%M:%SZ') if value else None


def _usage_time(value):
    # OS-SRV-USG times are a naive timestamp with microseconds in Nova.
    if not value:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f')


def links(env, collection, ident):
    return [{'rel': 'self',
             'href': '%s/v2.1/%s/%s' % (env.base_url, collection, ident)},
            {'rel': 'bookmark',
             'href': '%s/%s/%s' % (env.base_url, collection, ident)}]


def _bookmark(env, collection, ident):
    return [{'rel': 'bookmark',
             'href': '%s/%s/%s' % (env.base_url, collection, ident)}]


def host_id(project_id, host):
    """An opaque id of the host, stable per project (Nova's hostId)."""
    if not host:
        return ''
    return hashlib.sha224(((project_id or '') + host).encode()).hexdigest()


def hostname_of(display_name, uuid):
    """A DNS label made of the display name (a-z, 0-9 and '-')."""
    name = re.sub(r'[ _.]', '-', (display_name or '').lower())
    name = re.sub(r'[^a-z0-9-]', '', name)[:63].strip('-')
    return name or 'server-%s' % uuid


def status(instance):
    # A deleted server is DELETED whatever states it was left in.
    if _get(instance, 'deleted'):
        return 'DELETED'
    return status_from_states(instance.vm_state, _get(instance, 'task_state'))


# -- attribute values ---------------------------------------------------------

def _image_id(env, instance):
    ref = _get(instance, 'image_ref')
    if not ref:
        return None, None
    image = env.image(ref)
    # The ref may be the image's name: show the id it stands for.
    return (image['id'] if image else ref.rstrip('/').rsplit('/', 1)[-1],
            image)


def _image_2_1(instance, env):
    ident, _image = _image_id(env, instance)
    if ident is None:
        return ''
    return {'id': ident, 'links': _bookmark(env, 'images', ident)}


# Image attributes a server inherits with its image's properties (2.98).
_INHERITED_IMAGE_ATTRS = ('min_ram', 'min_disk', 'disk_format',
                          'container_format')


def _image_2_98(instance, env):
    view = _image_2_1(instance, env)
    if not view:
        return view
    _ident, image = _image_id(env, instance)
    properties = {}
    if image:
        for key in _INHERITED_IMAGE_ATTRS:
            if key in image:
                properties[key] = str(image[key])
        for key, value in (image.get('properties') or {}).items():
            properties[key] = None if value is None else str(value)[:255]
    view['properties'] = properties
    return view


def _flavor_2_1(instance, env):
    flavor = _get(instance, 'flavor')
    if flavor is None or not flavor.obj_attr_is_set('flavorid'):
        return {}
    return {'id': str(flavor.flavorid),
            'links': _bookmark(env, 'flavors', flavor.flavorid)}


def _flavor_2_47(instance, env):
    flavor = _get(instance, 'flavor')
    if flavor is None:
        return {}
    view = {'vcpus': flavor.vcpus, 'ram': flavor.memory_mb,
            'disk': flavor.root_gb, 'ephemeral': flavor.ephemeral_gb,
            'swap': flavor.swap, 'original_name': flavor.name}
    if env.allows('flavor_extra_specs', instance):
        view['extra_specs'] = dict(flavor.extra_specs or {})
    return view


def _fault(instance, env):
    fault = _get(instance, 'fault')
    if fault is None or status(instance) not in FAULT_STATUSES:
        return OMIT
    view = {'code': fault.code, 'created': iso_time(fault.created_at),
            'message': fault.message}
    # A 500's details may describe the deployment: administrators only.
    if fault.details and (env.is_admin or fault.code != 500):
        view['details'] = fault.details
    return view


def _progress(instance, env):
    return 0 if status(instance) in PROGRESS_STATUSES else OMIT


def _availability_zone(instance, env):
    return DEFAULT_AVAILABILITY_ZONE if _get(instance, 'host') else ''


def _host_status(instance, env):
    host = _get(instance, 'host')
    value = env.host_status(host) if host else ''
    if env.allows(HOST_STATUS, instance):
        return value
    # The unknown-only rule lets others tell "unknown" from "fine".
    if value == 'UNKNOWN' and env.allows('host_status_unknown_only',
                                         instance):
        return value
    return OMIT


def _const(value):
    # A fresh copy each time: callers may change the body they get.
    return lambda instance, env: (value.copy() if hasattr(value, 'copy')
                                  else value)


def _attr(name, default=None):
    return lambda instance, env: _get(instance, name, default)


def _hostname(instance, env):
    return hostname_of(_get(instance, 'display_name'), instance.uuid)


# (first, last, name, scope, audience, value(instance, env)); a value of
# OMIT leaves the attribute out. Order is the order of the JSON body.
FIELDS = [
    (None, None, 'id', BASIC, None, lambda i, e: i.uuid),
    (None, None, 'name', BASIC, None, _attr('display_name', '')),
    (None, None, 'status', BASIC, None, lambda i, e: status(i)),
    (None, None, 'tenant_id', BASIC, None, _attr('project_id', '')),
    (None, None, 'user_id', BASIC, None, _attr('user_id', '')),
    (None, None, 'metadata', BASIC, None, _const({})),
    (None, None, 'hostId', BASIC, None,
     lambda i, e: host_id(_get(i, 'project_id'), _get(i, 'host'))),
    (None, (2, 97), 'image', BASIC, None, _image_2_1),
    ((2, 98), None, 'image', BASIC, None, _image_2_98),
    (None, (2, 46), 'flavor', BASIC, None, _flavor_2_1),
    ((2, 47), None, 'flavor', BASIC, None, _flavor_2_47),
    (None, None, 'created', BASIC, None,
     lambda i, e: iso_time(_get(i, 'created_at'))),
    (None, None, 'updated', BASIC, None,
     lambda i, e: iso_time(_get(i, 'updated_at') or _get(i, 'created_at'))),
    # No networking here: no address, no access IP, no security group.
    (None, None, 'addresses', BASIC, None, _const({})),
    (None, None, 'accessIPv4', BASIC, None, _const('')),
    (None, None, 'accessIPv6', BASIC, None, _const('')),
    (None, None, 'links', BASIC, None,
     lambda i, e: links(e, 'servers', i.uuid)),
    (None, None, 'OS-DCF:diskConfig', BASIC, None, _const('MANUAL')),
    (None, None, 'fault', BASIC, None, _fault),
    (None, None, 'progress', BASIC, None, _progress),
    (None, None, 'OS-EXT-AZ:availability_zone', FULL, None,
     _availability_zone),
    (None, None, 'config_drive', FULL, None, _const('')),
    (None, None, 'key_name', FULL, None, _attr('key_name')),
    (None, None, 'OS-SRV-USG:launched_at', FULL, None,
     lambda i, e: _usage_time(_get(i, 'launched_at'))),
    (None, None, 'OS-SRV-USG:terminated_at', FULL, None,
     lambda i, e: _usage_time(_get(i, 'terminated_at'))),
    (None, None, 'OS-EXT-SRV-ATTR:host', FULL, EXTENDED, _attr('host')),
    (None, None, 'OS-EXT-SRV-ATTR:instance_name', FULL, EXTENDED,
     lambda i, e: 'instance-%s' % i.uuid),
    (None, None, 'OS-EXT-SRV-ATTR:hypervisor_hostname', FULL, EXTENDED,
     _attr('node')),
    # Reservations, kernels and ramdisks, root devices and user data are
    # not kept here: Nova's empty values.
    ((2, 3), None, 'OS-EXT-SRV-ATTR:reservation_id', FULL, EXTENDED,
     _const(None)),
    ((2, 3), None, 'OS-EXT-SRV-ATTR:launch_index', FULL, EXTENDED,
     _const(0)),
    ((2, 3), None, 'OS-EXT-SRV-ATTR:hostname', FULL, EXTENDED, _hostname),
    ((2, 3), None, 'OS-EXT-SRV-ATTR:kernel_id', FULL, EXTENDED, _const('')),
    ((2, 3), None, 'OS-EXT-SRV-ATTR:ramdisk_id', FULL, EXTENDED,
     _const('')),
    ((2, 3), None, 'OS-EXT-SRV-ATTR:root_device_name', FULL, EXTENDED,
     _const(None)),
    ((2, 3), None, 'OS-EXT-SRV-ATTR:user_data', FULL, EXTENDED,
     _const(None)),
    (None, None, 'OS-EXT-STS:task_state', FULL, None, _attr('task_state')),
    (None, None, 'OS-EXT-STS:vm_state', FULL, None, _attr('vm_state')),
    (None, None, 'OS-EXT-STS:power_state', FULL, None,
     _attr('power_state', 0)),
    # No volumes here (from 2.3 an entry would hold delete_on_termination).
    (None, None, 'os-extended-volumes:volumes_attached', FULL, None,
     _const([])),
    ((2, 16), None, 'host_status', FULL, None, _host_status),
    ((2, 9), None, 'locked', BASIC, None, _attr('locked', False)),
    ((2, 73), None, 'locked_reason', BASIC, None, _attr('locked_reason')),
    ((2, 19), None, 'description', BASIC, None,
     _attr('display_description')),
    ((2, 26), None, 'tags', BASIC, None, _const([])),
    ((2, 63), None, 'trusted_image_certificates', BASIC, None,
     _const(None)),
    ((2, 90), None, 'OS-EXT-SRV-ATTR:hostname', BASIC, NOT_EXTENDED,
     _hostname),
    ((2, 71), None, 'server_groups', SINGLE, None, _const([])),
    ((2, 96), None, 'pinned_availability_zone', BASIC, None, _const(None)),
    ((2, 100), None, 'scheduler_hints', BASIC, None, _const({})),
]


def _in_range(first, last, version):
    return ((first is None or version >= first) and
            (last is None or version <= last))


def _sees(audience, instance, env):
    if audience is None or audience == HOST_STATUS:
        return True  # host_status decides itself (unknown-only rule)
    extended = env.allows(EXTENDED, instance)
    return extended if audience == EXTENDED else not extended


def server(instance, env, scopes):
    """The body of one server in the views of ``scopes``."""
    body = {}
    for first, last, name, scope, audience, value in FIELDS:
        if (scope not in scopes or name in body or
                not _in_range(first, last, env.version) or
                not _sees(audience, instance, env)):
            continue
        result = value(instance, env)
        if result is not OMIT:
            body[name] = result
    return body


def show(instance, env):
    return server(instance, env, _SHOW_SCOPES)


def detail(instance, env):
    return server(instance, env, _DETAIL_SCOPES)


def update(instance, env):
    for first, last, scopes in _UPDATE_SCOPES:
        if _in_range(first, last, env.version):
            return server(instance, env, scopes)
    raise ValueError('no update view at %d.%d' % env.version)


def summary(instance, env):
    """An entry of ``GET /servers``."""
    return {'id': instance.uuid, 'name': _get(instance, 'display_name', ''),
            'links': links(env, 'servers', instance.uuid)}


def created(instance, env, admin_pass):
    """The answer to ``POST /servers`` (the same at every version)."""
    return {'id': instance.uuid, 'links': links(env, 'servers', instance.uuid),
            'OS-DCF:diskConfig': 'MANUAL',
            'security_groups': [{'name': 'default'}],
            'adminPass': admin_pass}

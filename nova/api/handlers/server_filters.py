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

"""The query of ``GET /servers`` and ``/servers/detail``, as Nova reads it.

* Before 2.75 an unknown parameter is ignored; from 2.75 it is a 400.
* A non-administrator's filters outside :data:`USER_FILTERS` (for the
  request's microversion) are dropped silently, as in Nova: ``host``,
  ``node``, ``deleted``, ``project_id`` ... only narrow an admin's list.
* ``status`` is turned into vm_state/task_state (see
  :data:`server_views.STATE_MAP`); an unknown status answers an empty list
  before 2.38 and a 400 from 2.38.
* ``name``, ``node``, ``description`` and ``key_name`` are regular
  expressions (Python syntax, ``re.search`` semantics), matched in SQL.
* ``changes-since`` / ``changes-before`` compare ``updated_at`` and include
  deleted servers (their status is DELETED), as Nova does.
* No server here has an IP address, a tag or a reservation: ``ip``,
  ``ip6``, ``tags``, ``tags-any`` and ``reservation_id`` match nothing,
  ``not-tags`` and ``not-tags-any`` everything.
* Other filters Nova knows (``kernel_id``, ``ramdisk_id``, ...) are accepted
  and do not narrow the list: their attributes are never set here.
"""

import collections
import re

from oslo_utils import strutils
from oslo_utils import timeutils

from nova.api.handlers import server_views
from nova.api import http

# What a non-administrator may filter by: (first microversion, names).
USER_FILTERS = [
    ((2, 1), ('reservation_id', 'name', 'status', 'image', 'flavor', 'ip',
              'changes-since', 'all_tenants')),
    ((2, 5), ('ip6',)),
    ((2, 26), ('tags', 'tags-any', 'not-tags', 'not-tags-any')),
    ((2, 66), ('changes-before',)),
    ((2, 73), ('locked',)),
    ((2, 83), ('availability_zone', 'config_drive', 'key_name', 'created_at',
               'launched_at', 'terminated_at', 'power_state', 'task_state',
               'vm_state', 'progress', 'user_id')),
    ((2, 90), ('hostname',)),
]

# Every parameter the query schema knows: (first microversion, names).
# Paging and sorting are always allowed to everyone.
KNOWN_PARAMS = [
    ((2, 1), ('limit', 'marker', 'sort_key', 'sort_dir', 'user_id',
              'project_id', 'tenant_id', 'launch_index', 'image_ref',
              'image', 'kernel_id', 'ramdisk_id', 'hostname', 'key_name',
              'power_state', 'vm_state', 'task_state', 'host', 'node',
              'flavor', 'reservation_id', 'launched_at', 'terminated_at',
              'availability_zone', 'name', 'status', 'description',
              'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'progress',
              'all_tenants', 'soft_deleted', 'deleted', 'changes-since',
              'ip', 'ip6', 'created_at', 'config_drive')),
    ((2, 26), ('tags', 'tags-any', 'not-tags', 'not-tags-any')),
    ((2, 66), ('changes-before',)),
    ((2, 73), ('locked',)),
]
# From this microversion an unknown parameter is refused.
STRICT_FROM = (2, 75)
# From this microversion an unknown status is refused (before: no match).
STRICT_STATUS_FROM = (2, 38)

# Filters that are regular expressions on a column.
REGEX_COLUMNS = {'name': 'display_name', 'node': 'node',
                 'description': 'display_description',
                 'key_name': 'key_name'}
# Filters that name nothing any server here has.
MATCH_NOTHING = ('ip', 'ip6', 'tags', 'tags-any', 'reservation_id')

# Sort keys of Nova's schema that are columns here; the other valid keys
# are accepted and leave the default order (created_at, newest first).
SORT_COLUMNS = ('created_at', 'display_description', 'display_name',
                'host', 'image_ref', 'instance_type_id', 'key_name',
                'launched_at',
                'locked_by', 'node', 'power_state', 'project_id',
                'task_state', 'terminated_at', 'updated_at', 'user_id',
                'uuid', 'vm_state')
VALID_SORT_KEYS = SORT_COLUMNS + (
    'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'availability_zone',
    'config_drive', 'hostname', 'kernel_id', 'launch_index',
    'progress', 'ramdisk_id', 'root_device_name')
ADMIN_SORT_KEYS = ('host', 'node')

DEFAULT_MAX_LIMIT = 1000

Query = collections.namedtuple('Query', [
    'filters', 'sort_key', 'sort_dir', 'limit', 'marker', 'all_projects',
    'nothing'])


def _names(rows, version):
    return {name for first, names in rows if version >= first
            for name in names}


def _bool(name, value, strict):
    try:
        return strutils.bool_from_string(value, strict=strict)
    except ValueError as e:
        raise http.HTTPError(400, 'Invalid value for %s: %s' % (name, e))


def _time(name, value):
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(value))
    except ValueError:
        raise http.HTTPError(400, "Invalid input for query parameter %s: "
                                  "%r is not an ISO 8601 date-time."
                             % (name, value))


def _regex(name, value):
    try:
        re.compile(value)
    except re.error as e:
        raise http.HTTPError(400, 'Invalid regular expression for %s: %r '
                                  '(%s).' % (name, value, e))
    return {'regex': value}


def _int(name, value, minimum=0):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise http.HTTPError(400, '%s param must be an integer' % name)
    if number < minimum:
        raise http.HTTPError(400, '%s param must be positive' % name)
    return number


def _all_projects(params):
    # "?all_tenants" alone means yes, as in Nova.
    if 'all_tenants' not in params:
        return False
    value = params['all_tenants']
    return True if value == '' else _bool('all_tenants', value, True)


def check_params(params, version, is_admin):
    """The parameters the request may use: 400 or dropped, as Nova."""
    names = set(params.keys())
    if version >= STRICT_FROM:
        unknown = sorted(names - _names(KNOWN_PARAMS, version))
        if unknown:
            raise http.HTTPError(
                400, 'Invalid input for query parameters %s: additional '
                     'properties are not allowed from microversion 2.75.'
                     % ', '.join(unknown))
    if is_admin:
        return names
    return names & (_names(USER_FILTERS, version) |
                    {'limit', 'marker', 'sort_key', 'sort_dir'})


def _sort(params, version, is_admin):
    key = params.get('sort_key')
    direction = params.get('sort_dir') or 'desc'
    if direction not in ('asc', 'desc'):
        raise http.HTTPError(400, "sort_dir must be 'asc' or 'desc', not "
                                  "%r." % direction)
    if key is None:
        return 'created_at', direction
    if key not in VALID_SORT_KEYS:
        raise http.HTTPError(400, 'Invalid sort_key %r: use one of %s.'
                             % (key, ', '.join(sorted(VALID_SORT_KEYS))))
    if key in ADMIN_SORT_KEYS and not is_admin:
        raise http.HTTPError(403, 'Only administrators can sort servers by '
                                  '%s' % key)
    return (key if key in SORT_COLUMNS else 'created_at'), direction


def _status_filters(params, version):
    """{vm_state, task_state} of ``status``; None if it names none."""
    statuses = params.getall('status')
    vms, tasks = server_views.states_from_statuses(statuses)
    if not vms:
        if version >= STRICT_STATUS_FROM:
            raise http.HTTPError(400, 'Invalid status value')
        return None
    filters = {'vm_state': vms}
    # A vm_state's own status matches whatever its task.
    if 'default' not in tasks:
        filters['task_state'] = tasks
    return filters


def build(params, version, context, can_list_all_projects):
    """The Query of a request's ``params`` (a webob MultiDict).

    ``can_list_all_projects()`` is the policy check, made only when
    ``all_tenants`` asks for it (403 if refused, as in Nova).
    """
    is_admin = context.is_admin
    usable = check_params(params, version, is_admin)
    given = {name: params.get(name) for name in usable}
    filters = {}
    nothing = False

    if 'status' in given:
        status_filters = _status_filters(params, version)
        if status_filters is None:
            nothing = True
        else:
            filters.update(status_filters)
    for name, column in (('vm_state', 'vm_state'),
                         ('task_state', 'task_state')):
        if name in given and column not in filters:
            filters[column] = params.getall(name)

    updated = {}
    if given.get('changes-since'):
        updated['gte'] = _time('changes-since', given['changes-since'])
    if given.get('changes-before'):
        updated['lte'] = _time('changes-before', given['changes-before'])
        if 'gte' in updated and updated['lte'] < updated['gte']:
            raise http.HTTPError(400, 'The value of changes-since must be '
                                      'less than or equal to '
                                      'changes-before.')
    if updated:
        filters['updated_at'] = updated

    # Deleted servers: only with changes-since/-before, or asked by an
    # administrator with deleted=true.
    if 'deleted' in given:
        filters['deleted'] = _bool('deleted', given['deleted'], False)
    else:
        filters['deleted'] = None if updated else False
    if filters.get('vm_state') == ['deleted']:
        if not is_admin:
            raise http.HTTPError(403, 'Only administrators may list '
                                      'deleted instances')
        filters['deleted'] = True

    all_projects = 'all_tenants' in given and _all_projects(params)
    if all_projects:
        if not can_list_all_projects():
            raise http.HTTPError(403, 'Policy does not allow listing the '
                                      'servers of all projects.')
        project = given.get('project_id') or given.get('tenant_id')
        if project:
            filters['project_id'] = project
    elif context.project_id:
        filters['project_id'] = context.project_id
    else:
        filters['user_id'] = context.user_id
    if given.get('user_id'):
        filters['user_id'] = given['user_id']

    for name, column in REGEX_COLUMNS.items():
        if given.get(name):
            filters[column] = _regex(name, given[name])
    if given.get('host'):
        filters['host'] = given['host']
    image = given.get('image') or given.get('image_ref')
    if image:
        filters['image_ref'] = image
    if 'locked' in given:
        filters['locked'] = _bool('locked', given['locked'], True)
    if 'flavor' in given:
        filters['flavor'] = given['flavor']
    if any(given.get(name) for name in MATCH_NOTHING):
        nothing = True

    limit = None
    if params.get('limit') is not None:
        limit = _int('limit', params['limit'])
    key, direction = _sort(params, version, is_admin)
    return Query(filters, key, direction, limit, params.get('marker'),
                 all_projects, nothing)

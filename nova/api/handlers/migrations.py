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

"""``/os-migrations``: every migration, for operators (admin only).

The fields of a migration and the query parameters depend on the
microversion, as in Nova: ``migration_type`` and the ``links`` of live
migrations in progress from 2.23; ``uuid``, paging (``limit``, ``marker``,
``changes-since``) and ``migrations_links`` from 2.59; ``changes-before``
from 2.66; ``user_id``/``project_id`` (fields and filters) from 2.80.
Filters: host (source or destination), status, migration_type,
instance_uuid, source_compute; a parameter given twice matches either
value.
"""

import datetime
from urllib import parse as urlparse

from oslo_utils import timeutils

import nova.conf
from nova.api.handlers import migration_views as views
from nova.api.handlers import query_params
from nova.api import http
from nova import exception
from nova import objects

CONF = nova.conf.CONF

# (first microversion, query parameters that filter from it on); before
# its first version a parameter is ignored, as Nova does.
FILTERS = [
    ((2, 1), ('host', 'status', 'migration_type', 'instance_uuid',
              'source_compute')),
    ((2, 80), ('user_id', 'project_id')),
]

PAGING_VERSION = (2, 59)
# (first microversion, time window parameter)
TIME_FILTERS = [((2, 59), 'changes-since'), ((2, 66), 'changes-before')]


def _filters(req):
    filters = {}
    for first, keys in FILTERS:
        if req.version < first:
            continue
        for key in keys:
            values = [v for v in req.params.getall(key) if v]
            if values:
                filters[key] = values[0] if len(values) == 1 else values
    for first, key in TIME_FILTERS:
        if req.version >= first and req.params.get(key):
            filters[key] = _time_param(key, req.params[key])
    since, before = filters.get('changes-since'), filters.get('changes-before')
    if since and before and since > before:
        raise http.HTTPError(400, 'The value of changes-since must be less '
                                  'than or equal to changes-before.')
    filters['hidden'] = False
    return filters


def _time_param(key, text):
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(text))
    except ValueError:
        raise http.HTTPError(400, 'Invalid %s value %r: give an ISO 8601 '
                                  'date and time, e.g. '
                                  '2025-01-31T12:00:00Z.' % (key, text))


def _sort_key(migration):
    # The list's order: newest first (created_at, then id, descending).
    return (migration.created_at or datetime.datetime.min, migration.id)


def page(migrations, marker, limit):
    """At most ``limit`` of ``migrations`` (in the list's order) that come
    after the Migration ``marker`` (None: from the start)."""
    if marker is not None:
        last_seen = _sort_key(marker)
        migrations = [m for m in migrations if _sort_key(m) < last_seen]
    return list(migrations)[:limit]


def _marker(req):
    marker = req.params.get('marker')
    if not marker:
        return None
    try:
        return objects.Migration.get_by_uuid(req.context, marker)
    except exception.MigrationNotFound:
        raise http.HTTPError(400, 'Marker %s could not be found.' % marker)


def next_links(req, shown, limit):
    """``migrations_links`` when the page is full: the next page starts
    after its last migration."""
    if not limit or len(shown) < limit:
        return []
    params = [(k, v) for k, v in req.params.items() if k != 'marker']
    params.append(('marker', shown[-1].uuid))
    href = '%s/os-migrations?%s' % (http.link_prefix(req),
                                    urlparse.urlencode(params))
    return [{'rel': 'next', 'href': href}]


def index(req):
    http.authorize(req, 'os_compute_api:os-migrations:index')
    migrations = objects.MigrationList.get_by_filters(req.context,
                                                      _filters(req))
    body = {}
    if req.version >= PAGING_VERSION:
        limit = query_params.limit(req, CONF.api.max_limit)
        migrations = page(migrations, _marker(req), limit)
        body['migrations_links'] = next_links(req, migrations, limit)
        if not body['migrations_links']:
            del body['migrations_links']
    body['migrations'] = [views.migration(req, m) for m in migrations]
    return 200, body


ROUTES = [('GET', '/os-migrations', index)]

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

"""``/servers/{id}/migrations``: a server's live migrations in progress.

Show, abort (DELETE) and force-complete them. A migration is named by its
id or, as ``openstack server migration show`` prefers, its uuid. As in
Nova, force-complete exists from 2.22, list and show from 2.23 (the
progress in ``*_bytes`` fields), abort from 2.24; the view gains ``uuid``
at 2.59 and ``user_id``/``project_id`` at 2.80.
"""

from oslo_utils import uuidutils

from nova.api.handlers import migration_views
from nova.api.handlers import servers
from nova.api import http
from nova import exception
from nova import objects

MIGRATIONS = 'os_compute_api:servers:migrations:%s'


def _migration_id(req, instance, ref):
    """The integer id of the instance's migration ``ref`` (id or uuid)."""
    if uuidutils.is_uuid_like(ref):
        try:
            migration = objects.Migration.get_by_uuid(req.context, ref)
        except exception.MigrationNotFound:
            migration = None
        if migration is None or migration.instance_uuid != instance.uuid:
            raise http.HTTPError(404, 'Migration %s could not be found for '
                                      'server %s.' % (ref, instance.uuid))
        return migration.id
    try:
        return int(ref)
    except ValueError:
        raise http.HTTPError(404, 'Migration %s could not be found.' % ref)


def _in_progress(req, instance):
    return objects.MigrationList.get_in_progress_by_instance(
        req.context, instance.uuid, migration_type='live-migration')


def index(req, server_id):
    http.authorize(req, MIGRATIONS % 'index')
    instance = servers.get_instance(req, server_id)
    return 200, {'migrations': [migration_views.server_migration(req, m)
                                for m in _in_progress(req, instance)]}


def show(req, server_id, migration_id):
    http.authorize(req, MIGRATIONS % 'show')
    instance = servers.get_instance(req, server_id)
    mid = _migration_id(req, instance, migration_id)
    for migration in _in_progress(req, instance):
        if migration.id == mid:
            return 200, {'migration': migration_views.server_migration(
                req, migration)}
    raise http.HTTPError(404, 'In-progress live migration %s is not found '
                              'for server %s.' % (migration_id, server_id))


def abort(req, server_id, migration_id):
    http.authorize(req, MIGRATIONS % 'delete')
    instance = servers.get_instance(req, server_id)
    mid = _migration_id(req, instance, migration_id)
    try:
        servers.compute().live_migrate_abort(req.context, instance, mid)
    except exception.InvalidMigrationState as e:
        raise http.HTTPError(400, e.format_message())
    return 202, None


def action(req, server_id, migration_id):
    http.authorize(req, MIGRATIONS % 'force_complete')
    body = http.json_body(req)
    if set(body) != {'force_complete'}:
        raise http.HTTPError(400, 'The only migration action is '
                                  'force_complete.')
    instance = servers.get_instance(req, server_id)
    mid = _migration_id(req, instance, migration_id)
    try:
        servers.compute().live_migrate_force_complete(req.context, instance,
                                                      mid)
    except exception.InvalidMigrationState as e:
        raise http.HTTPError(400, e.format_message())
    return 202, None


ROUTES = [
    ('GET', '/servers/{server_id}/migrations', index, ((2, 23), None)),
    ('GET', '/servers/{server_id}/migrations/{migration_id}', show,
     ((2, 23), None)),
    ('DELETE', '/servers/{server_id}/migrations/{migration_id}', abort,
     ((2, 24), None)),
    ('POST', '/servers/{server_id}/migrations/{migration_id}/action',
     action, ((2, 22), None)),
]

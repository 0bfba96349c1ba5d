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

Filters: host (source or destination), status, migration_type,
instance_uuid. Progress fields are in bytes.
"""

from nova.api import wsgi
from nova import objects

FILTERS = ('host', 'status', 'migration_type', 'instance_uuid',
           'source_compute')


def _time(value):
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f') if value else None


def migration_view(req, migration, in_server=False):
    body = {
        'id': migration.id,
        'uuid': migration.uuid,
        'status': migration.status,
        'instance_uuid': migration.instance_uuid,
        'server_uuid': migration.instance_uuid,
        'migration_type': migration.migration_type,
        'source_compute': migration.source_compute,
        'source_node': migration.source_node,
        'dest_compute': migration.dest_compute,
        'dest_node': migration.dest_node,
        'dest_host': migration.dest_host,
        'old_instance_type_id': migration.old_instance_type_id,
        'new_instance_type_id': migration.new_instance_type_id,
        'created_at': _time(migration.created_at),
        'updated_at': _time(migration.updated_at),
        'user_id': migration.user_id,
        'project_id': migration.project_id,
    }
    for field in ('memory_total', 'memory_processed', 'memory_remaining',
                  'disk_total', 'disk_processed', 'disk_remaining'):
        body[field] = getattr(migration, field)
    if in_server:
        body.pop('instance_uuid')
    else:
        body.pop('server_uuid')
        base = req.host_url + req.script_name
        if migration.is_live_migration:
            href = '%s/v2.1/servers/%s/migrations/%s' % (
                base, migration.instance_uuid, migration.id)
            body['links'] = [{'rel': 'self', 'href': href}]
    return body


def index(req):
    wsgi.authorize(req, 'os_compute_api:os-migrations:index')
    filters = {key: req.params[key] for key in FILTERS
               if req.params.get(key)}
    filters['hidden'] = False
    migrations = objects.MigrationList.get_by_filters(req.context, filters)
    return 200, {'migrations': [migration_view(req, m)
                                for m in migrations]}


ROUTES = [('GET', '/os-migrations', index)]

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

"""The JSON of a migration, per microversion, as Nova shapes it.

Two views: the operators' list (``/os-migrations``) and a server's live
migrations (``/servers/{id}/migrations``, with the progress in bytes).
Each is a table of ``(first microversion, fields)`` rows: a request gets
the fields of every row its version has reached.
"""

from nova.api import http

TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'


def _time(value):
    return value.strftime(TIME_FORMAT) if value else None


def _attr(name):
    return lambda migration: getattr(migration, name)


def _timestamp(name):
    return lambda migration: _time(getattr(migration, name))


# Every field either view may show: name -> value of a Migration.
_VALUES = {
    name: _attr(name)
    for name in ('id', 'uuid', 'status', 'instance_uuid', 'source_node',
                 'source_compute', 'dest_node', 'dest_compute', 'dest_host',
                 'old_instance_type_id', 'new_instance_type_id',
                 'migration_type', 'user_id', 'project_id')
}
_VALUES.update({
    'created_at': _timestamp('created_at'),
    'updated_at': _timestamp('updated_at'),
    'server_uuid': _attr('instance_uuid'),
})
# The live migration's progress: memory_total -> memory_total_bytes...
PROGRESS = ('memory_total', 'memory_processed', 'memory_remaining',
            'disk_total', 'disk_processed', 'disk_remaining')
_VALUES.update({'%s_bytes' % name: _attr(name) for name in PROGRESS})

_COMMON = ('id', 'status', 'source_node', 'source_compute', 'dest_node',
           'dest_compute', 'dest_host', 'created_at', 'updated_at')

# /os-migrations
LIST_FIELDS = [
    ((2, 1), _COMMON + ('instance_uuid', 'old_instance_type_id',
                        'new_instance_type_id')),
    ((2, 23), ('migration_type',)),
    ((2, 59), ('uuid',)),
    ((2, 80), ('user_id', 'project_id')),
]
# /os-migrations links a live migration in progress to its server's view:
# one in these statuses, as Nova.
LINKS_VERSION = (2, 23)
LINKED_STATUSES = ('queued', 'preparing', 'running', 'post-migrating')

# /servers/{server_id}/migrations (the route exists from 2.23)
SERVER_FIELDS = [
    ((2, 23), _COMMON + ('server_uuid',) +
     tuple('%s_bytes' % name for name in PROGRESS)),
    ((2, 59), ('uuid',)),
    ((2, 80), ('user_id', 'project_id')),
]


def fields_at(table, version):
    """The field names of ``table`` at ``version``."""
    names = []
    for first, row in table:
        if version >= first:
            names.extend(row)
    return names


def _view(table, version, migration):
    return {name: _VALUES[name](migration)
            for name in fields_at(table, version)}


def migration(req, migration):
    """A migration in the ``/os-migrations`` list."""
    body = _view(LIST_FIELDS, req.version, migration)
    if (req.version >= LINKS_VERSION and migration.is_live_migration and
            migration.status in LINKED_STATUSES):
        body['links'] = http.links(req, 'servers', migration.instance_uuid,
                                   'migrations', migration.id)
    return body


def server_migration(req, migration):
    """A live migration of ``/servers/{id}/migrations``."""
    return _view(SERVER_FIELDS, req.version, migration)

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

"""Migration: the record of one move of an instance between hosts.

Created by the conductor when a move starts, updated by both computes as
it progresses (a live migration also reports its memory and disk copy
progress here), and read at startup by a compute that must finish the
cleanup of moves that were in flight when it stopped.
"""

from oslo_utils import versionutils

from nova.db import api as db
from nova import exception
from nova.objects import base
from nova.objects import fields
from nova.objects import instance_action

# Fields added in 1.1: the progress of a live migration.
_PROGRESS_FIELDS = ('memory_total', 'memory_processed', 'memory_remaining',
                    'disk_total', 'disk_processed', 'disk_remaining')


@base.NovaObjectRegistry.register
class Migration(base.NovaPersistentObject, base.NovaObject):
    # Version 1.0: Initial version
    # Version 1.1: Added memory_total, memory_processed, memory_remaining,
    #              disk_total, disk_processed and disk_remaining (bytes)
    # Version 1.2: save() takes expected_status (a compare-and-swap)
    VERSION = '1.2'

    fields = {
        'id': fields.IntegerField(read_only=True),
        'uuid': fields.UUIDField(),
        'source_compute': fields.StringField(nullable=True),
        'dest_compute': fields.StringField(nullable=True),
        'source_node': fields.StringField(nullable=True),
        'dest_node': fields.StringField(nullable=True),
        # The address the destination is reached at for the data copy.
        'dest_host': fields.StringField(nullable=True),
        'instance_uuid': fields.UUIDField(nullable=True),
        'old_instance_type_id': fields.IntegerField(nullable=True),
        'new_instance_type_id': fields.IntegerField(nullable=True),
        'migration_type': fields.MigrationTypeField(nullable=True),
        'status': fields.MigrationStatusField(nullable=True),
        # Hidden migrations are internal steps the API does not list.
        'hidden': fields.BooleanField(default=False),
        'memory_total': fields.IntegerField(nullable=True),
        'memory_processed': fields.IntegerField(nullable=True),
        'memory_remaining': fields.IntegerField(nullable=True),
        'disk_total': fields.IntegerField(nullable=True),
        'disk_processed': fields.IntegerField(nullable=True),
        'disk_remaining': fields.IntegerField(nullable=True),
        'user_id': fields.StringField(nullable=True),
        'project_id': fields.StringField(nullable=True),
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if versionutils.convert_version_to_tuple(target_version) < (1, 1):
            for name in _PROGRESS_FIELDS:
                primitive.pop(name, None)

    @staticmethod
    def _from_db_object(context, migration, db_migration):
        base.fill_from_db(migration, db_migration)
        migration._context = context
        migration.obj_reset_changes()
        return migration

    @property
    def is_live_migration(self):
        return self.migration_type == fields.MigrationType.LIVE_MIGRATION

    @classmethod
    @base.remotable
    def get_by_id(cls, context, migration_id):
        return cls._from_db_object(context, cls(),
                                   db.migration_get(context, migration_id))

    @classmethod
    @base.remotable
    def get_by_uuid(cls, context, migration_uuid):
        return cls._from_db_object(
            context, cls(), db.migration_get_by_uuid(context, migration_uuid))

    @classmethod
    @base.remotable
    def get_by_id_and_instance(cls, context, migration_id, instance_uuid):
        """MigrationNotFound unless migration ``id`` moves that instance."""
        return cls._from_db_object(
            context, cls(),
            db.migration_get_by_id_and_instance(context, migration_id,
                                                instance_uuid))

    @base.remotable
    def create(self):
        base.create_record(self, db.migration_create)

    def create_taking_instance(self, instance, expected_task_state,
                               expected_vm_state, action=None):
        """create(), in one transaction with ``instance.save()`` as a
        compare-and-swap (see Instance.save) and, with ``action``, the
        start of the request's instance action of that kind.

        All are written or none (UnexpectedTaskStateError and the like
        write nothing): a move is never half recorded. For the API, which
        reaches the database itself.
        """
        expected = {'task_state': list(expected_task_state),
                    'vm_state': list(expected_vm_state)}
        action_values = None
        if action is not None:
            action_values = instance_action.InstanceAction.start_values(
                self._context, instance.uuid, action)

        def create(context, values):
            db_inst, db_migration, _db_action = (
                db.migration_create_taking_instance(
                    context, instance.uuid, instance.changes_for_db(),
                    expected, values, action_values))
            instance.saved(db_inst)
            return db_migration

        base.create_record(self, create)

    @base.remotable
    def save(self, expected_status=None):
        """Write the changed fields.

        ``expected_status``: a list of statuses the row must still be in,
        else MigrationStatusChanged is raised and nothing is written (the
        object then holds the row as it is). How the services that may
        both settle a migration (its conductor, its source's recovery)
        make sure only one does.
        """
        if expected_status is None:
            base.save_record(self, db.migration_update)
            return
        updates = base.changes_for_db(self, skip=('uuid',))
        try:
            db_row = db.migration_update(self._context, self.id, updates,
                                         expected_status=expected_status)
        except exception.MigrationStatusChanged:
            self.obj_reset_changes()
            self._from_db_object(self._context, self,
                                 db.migration_get(self._context, self.id))
            raise
        self._from_db_object(self._context, self, db_row)


@base.NovaObjectRegistry.register
class MigrationList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (Migration 1.0)
    # Version 1.1: Migration 1.1
    # Version 1.2: get_in_progress_by_host_and_node replaces
    #              get_in_progress_and_error_by_host_and_node
    # Version 1.3: Migration 1.2
    VERSION = '1.3'

    fields = {
        'objects': fields.ListOfObjectsField('Migration'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0'), ('1.1', '1.1'), ('1.2', '1.1'),
                    ('1.3', '1.2')],
    }

    @classmethod
    def _make(cls, context, db_migrations):
        return base.obj_make_list(context, cls(context), Migration,
                                  db_migrations)

    @classmethod
    @base.remotable
    def get_in_progress_by_instance(cls, context, instance_uuid,
                                    migration_type=None):
        """The unfinished migrations of an instance, newest first."""
        return cls._make(context, db.migration_get_in_progress_by_instance(
            context, instance_uuid, migration_type=migration_type))

    @classmethod
    @base.remotable
    def get_in_progress_by_host_and_node(cls, context, host, node):
        """Moves from or to (host, node) that have not ended (nor failed
        in 'error'); what an ended move left reserved is kept in the
        namespace lifecycle records, not here."""
        return cls._make(
            context,
            db.migration_get_in_progress_by_host_and_node(context, host,
                                                          node))

    @classmethod
    @base.remotable
    def get_by_filters(cls, context, filters):
        """Migrations matching ``filters``; see the DB API for the keys."""
        return cls._make(context,
                         db.migration_get_all_by_filters(context, filters))

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

"""Migration and MigrationList against the real database."""

from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.objects import fields
from nova import test

GiB = 1024 ** 3
STATUS = fields.MigrationStatus


class _MigrationTestBase(test.TestCase):

    def setUp(self):
        super().setUp()
        flavor = objects.Flavor(self.context, flavorid='f', name='f',
                                memory_mb=512, vcpus=1)
        flavor.create()
        self.instance = self._instance(flavor)
        self.other_instance = self._instance(flavor)

    def _instance(self, flavor):
        instance = objects.Instance(self.context, host='src', node='src-n',
                                    vm_state=vm_states.ACTIVE, flavor=flavor,
                                    user_id='u', project_id='p')
        instance.create()
        return instance

    def _create(self, instance=None, status=STATUS.ACCEPTED,
                migration_type=fields.MigrationType.LIVE_MIGRATION,
                source=('src', 'src-n'), dest=('dst', 'dst-n'), **values):
        migration = objects.Migration(
            self.context, instance_uuid=(instance or self.instance).uuid,
            source_compute=source[0], source_node=source[1],
            dest_compute=dest[0], dest_node=dest[1], status=status,
            migration_type=migration_type, **values)
        migration.create()
        return migration


class TestMigration(_MigrationTestBase):

    def test_create_and_get(self):
        migration = self._create()
        self.assertTrue(migration.obj_attr_is_set('id'))
        self.assertTrue(migration.obj_attr_is_set('uuid'))
        self.assertFalse(migration.hidden)
        self.assertTrue(migration.is_live_migration)
        for loaded in (
                objects.Migration.get_by_id(self.context, migration.id),
                objects.Migration.get_by_uuid(self.context, migration.uuid),
                objects.Migration.get_by_id_and_instance(
                    self.context, migration.id, self.instance.uuid)):
            self.assertEqual(migration.uuid, loaded.uuid)
            self.assertEqual(STATUS.ACCEPTED, loaded.status)
            self.assertEqual('dst-n', loaded.dest_node)

    def test_not_live(self):
        migration = self._create(
            migration_type=fields.MigrationType.RESIZE)
        self.assertFalse(migration.is_live_migration)

    def test_get_by_id_and_other_instance(self):
        migration = self._create()
        self.assertRaises(exception.MigrationNotFound,
                          objects.Migration.get_by_id_and_instance,
                          self.context, migration.id,
                          self.other_instance.uuid)

    def test_save_progress(self):
        migration = self._create()
        migration.status = STATUS.RUNNING
        migration.memory_total = 6 * GiB
        migration.memory_processed = 2 * GiB
        migration.memory_remaining = 4 * GiB
        migration.save()
        self.assertEqual(set(), migration.obj_what_changed())
        loaded = objects.Migration.get_by_id(self.context, migration.id)
        self.assertEqual(STATUS.RUNNING, loaded.status)
        self.assertEqual(6 * GiB, loaded.memory_total)
        self.assertEqual(4 * GiB, loaded.memory_remaining)
        self.assertIsNone(loaded.disk_total)

    def test_save_expecting_a_status(self):
        migration = self._create()
        migration.status = STATUS.QUEUED
        migration.save(expected_status=[STATUS.ACCEPTED])
        self.assertEqual(set(), migration.obj_what_changed())
        self.assertEqual(STATUS.QUEUED, objects.Migration.get_by_id(
            self.context, migration.id).status)

    def test_save_expecting_a_status_another_service_changed(self):
        migration = self._create()
        theirs = objects.Migration.get_by_id(self.context, migration.id)
        theirs.status = STATUS.FAILED
        theirs.save()
        migration.status = STATUS.QUEUED
        migration.dest_compute = 'other'
        err = self.assertRaises(exception.MigrationStatusChanged,
                                migration.save,
                                expected_status=[STATUS.ACCEPTED])
        self.assertEqual(STATUS.FAILED, err.kwargs['actual'])
        # Nothing was written and the object shows the row as it is.
        self.assertEqual((STATUS.FAILED, 'dst'),
                         (migration.status, migration.dest_compute))
        self.assertEqual(set(), migration.obj_what_changed())
        stored = objects.Migration.get_by_id(self.context, migration.id)
        self.assertEqual((STATUS.FAILED, 'dst'),
                         (stored.status, stored.dest_compute))

    def test_invalid_status_refused(self):
        migration = objects.Migration()
        self.assertRaises(ValueError, setattr, migration, 'status',
                          'teleported')


class TestMigrationList(_MigrationTestBase):

    def _uuids(self, migrations):
        return sorted(m.uuid for m in migrations)

    def test_in_progress_by_instance(self):
        running = self._create(status=STATUS.RUNNING)
        self._create(status=STATUS.COMPLETED)
        self._create(status=STATUS.ERROR)
        resize = self._create(status=STATUS.PRE_MIGRATING,
                              migration_type=fields.MigrationType.RESIZE)
        self._create(instance=self.other_instance, status=STATUS.RUNNING)

        found = objects.MigrationList.get_in_progress_by_instance(
            self.context, self.instance.uuid)
        self.assertIsInstance(found, objects.MigrationList)
        self.assertEqual(self._uuids([running, resize]), self._uuids(found))
        live = objects.MigrationList.get_in_progress_by_instance(
            self.context, self.instance.uuid,
            migration_type=fields.MigrationType.LIVE_MIGRATION)
        self.assertEqual([running.uuid], self._uuids(live))

    def test_in_progress_by_host_and_node(self):
        outgoing = self._create(status=STATUS.RUNNING)
        self._create(status=STATUS.ERROR)
        self._create(status=STATUS.COMPLETED)
        self._create(status=STATUS.FAILED)
        incoming = self._create(instance=self.other_instance,
                                status=STATUS.PREPARING,
                                source=('dst', 'dst-n'),
                                dest=('src', 'src-n'))
        self._create(status=STATUS.RUNNING, source=('src', 'other-n'))

        lister = objects.MigrationList
        found = lister.get_in_progress_by_host_and_node(
            self.context, 'src', 'src-n')
        self.assertEqual(self._uuids([outgoing, incoming]),
                         self._uuids(found))

    def test_get_by_filters(self):
        done = self._create(status=STATUS.COMPLETED)
        running = self._create(status=STATUS.RUNNING)
        elsewhere = self._create(instance=self.other_instance,
                                 status=STATUS.RUNNING,
                                 source=('h3', 'n3'), dest=('h4', 'n4'))

        by_host = objects.MigrationList.get_by_filters(self.context,
                                                       {'host': 'dst'})
        self.assertEqual(self._uuids([done, running]), self._uuids(by_host))
        by_status = objects.MigrationList.get_by_filters(
            self.context, {'status': [STATUS.RUNNING, STATUS.ERROR]})
        self.assertEqual(self._uuids([running, elsewhere]),
                         self._uuids(by_status))
        by_instance = objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': self.other_instance.uuid,
                           'source_compute': 'h3'})
        self.assertEqual([elsewhere.uuid], self._uuids(by_instance))

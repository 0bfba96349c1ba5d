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

"""A destination giving up its claim when a live migration is undone.

The instance record lets go of the claim (its migration context) before
the tracker frees the namespaces: a namespace freed while a record still
names it would be named by two records once another claim took it. A
record that cannot be saved keeps the namespaces reserved.
"""

from unittest import mock

from nova.compute import live_migration
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit.compute import test_cold_migrate_late

SOURCE, DEST = 'compute-a', 'compute-b'


class Manager(live_migration.LiveMigrationMixin):
    host = DEST

    def __init__(self):
        self._init_live_migration()
        self.driver = mock.Mock()
        self.rt = mock.Mock()
        self.rt.held_by.return_value = ['ns0']
        self.rt.give_up.return_value.clean = True


class RollbackAtDestinationTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = test_cold_migrate_late.admin_context()
        self.instance = test_cold_migrate_late.make_instance(self.context,
                                                             host=SOURCE)
        self.manager = Manager()
        self.migration = self._migration()
        self._claim(self.migration)

    def _migration(self):
        migration = objects.Migration(
            self.context, instance_uuid=self.instance.uuid,
            migration_type='live-migration', status='failed',
            source_compute=SOURCE, source_node=SOURCE,
            dest_compute=DEST, dest_node=DEST)
        migration.create()
        return migration

    def _claim(self, migration):
        self.instance.migration_context = objects.MigrationContext(
            instance_uuid=self.instance.uuid, migration_id=migration.id,
            new_resources=objects.ResourceList(objects=[]),
            old_resources=objects.ResourceList(objects=[]))
        self.instance.save()

    def _stored_context(self):
        return objects.Instance.get_by_uuid(
            self.context, self.instance.uuid,
            expected_attrs=['migration_context']).migration_context

    def _rollback(self):
        return self.manager.rollback_live_migration_at_destination(
            self.context, self.instance, self.migration)

    def test_record_lets_go_before_the_namespaces_are_freed(self):
        contexts = []
        self.manager.rt.give_up.side_effect = (
            lambda *args, **kwargs: contexts.append(self._stored_context())
            or mock.Mock(clean=True))
        self.assertTrue(self._rollback())
        self.assertEqual([None], contexts)
        self.manager.rt.give_up.assert_called_once_with(
            self.context, ['ns0'], self.instance.uuid,
            giver=self.instance.uuid, migration=self.migration,
            final_status='failed')

    def test_record_not_saved_keeps_the_namespaces_reserved(self):
        with mock.patch.object(objects.Instance, 'save',
                               side_effect=exception.NovaException('db')):
            self.assertFalse(self._rollback())
        self.manager.rt.give_up.assert_not_called()
        self.assertIsNotNone(self._stored_context())
        # Erased once the record no longer names them, ending 'failed'.
        self.manager.rt.keep_until_let_go.assert_called_once_with(
            self.context, self.instance.uuid, self.migration, 'failed')

    def test_guest_not_removed_keeps_the_namespaces_and_the_end(self):
        self.manager.driver.rollback_live_migration_at_destination \
            .side_effect = exception.NovaException('guest stuck')
        self.assertFalse(
            self.manager.rollback_live_migration_at_destination(
                self.context, self.instance, self.migration,
                outcome='cancelled'))
        self.manager.rt.give_up.assert_not_called()
        self.manager.rt.keep_until_let_go.assert_called_once_with(
            self.context, self.instance.uuid, self.migration, 'cancelled')

    def test_claim_of_another_migration_is_left_alone(self):
        newer = self._migration()
        self._claim(newer)
        self.assertTrue(self._rollback())
        self.assertEqual(newer.id, self._stored_context().migration_id)
        self.manager.rt.give_up.assert_called_once()

    def test_instance_living_here_keeps_its_record(self):
        self.instance.host = DEST
        self.instance.save()
        self.assertTrue(self._rollback())
        self.assertEqual(self.migration.id,
                         self._stored_context().migration_id)

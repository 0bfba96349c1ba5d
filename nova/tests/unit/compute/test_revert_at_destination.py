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

"""A cold migration's destination that cannot give its namespaces up on
a revert: nothing is freed, the move's end is noted for later, and the
source is still told to take the instance back."""

from unittest import mock

from nova.compute import cold_migration
from nova.compute import live_migration
from nova.compute import task_states
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit.compute import test_cold_migrate_late

SOURCE, DEST = 'compute-a', 'compute-b'


class Manager(cold_migration.ColdMigrationMixin):
    host = DEST
    _reload = staticmethod(live_migration.LiveMigrationMixin._reload)

    def __init__(self):
        self.driver = mock.Mock()
        self.rt = mock.Mock()
        self.rt.held_by.return_value = ['ns0']
        self.rt.give_up.return_value.clean = True
        self.compute_rpcapi = mock.Mock()


class RevertAtDestinationTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = test_cold_migrate_late.admin_context()
        self.instance = test_cold_migrate_late.make_instance(self.context,
                                                             host=DEST)
        self.instance.task_state = task_states.RESIZE_REVERTING
        self.instance.save()
        self.migration = objects.Migration(
            self.context, instance_uuid=self.instance.uuid,
            migration_type='migration', status='finished',
            source_compute=SOURCE, source_node=SOURCE,
            dest_compute=DEST, dest_node=DEST)
        self.migration.create()
        self.manager = Manager()

    def _revert(self):
        self.manager.revert_resize(self.context, self.instance,
                                   self.migration)

    def _assert_kept_and_source_told(self):
        self.manager.rt.give_up.assert_not_called()
        self.manager.rt.keep_until_let_go.assert_called_once_with(
            self.context, self.instance.uuid, self.migration, 'reverted')
        self.assertEqual('error', objects.Migration.get_by_id(
            self.context, self.migration.id).status)
        self.manager.compute_rpcapi.finish_revert_resize \
            .assert_called_once_with(self.context, self.instance,
                                     self.migration, host=SOURCE)

    def test_guest_not_removed_keeps_the_namespaces(self):
        self.manager.driver.remove_migrated_guest.side_effect = (
            exception.NovaException('guest stuck'))
        self._revert()
        self._assert_kept_and_source_told()

    def test_record_not_saved_keeps_the_namespaces(self):
        with mock.patch.object(cold_migration.ColdMigrationMixin,
                               '_hand_record_back', return_value=False):
            self._revert()
        self._assert_kept_and_source_told()

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

"""The source's recovery sweep settles an instance left in a move's task
state after its migration ended (the source's last save of it failed):
a revert ended in 'error' is finished, a live rollback's task state
cleared, a cold rollback's guest started again; anything else is left
alone."""

import datetime
import threading
from unittest import mock

from oslo_utils import timeutils

from nova.compute import cold_migration
from nova.compute import move_recovery
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit.compute import test_cold_migrate_late

SOURCE, DEST = 'compute-a', 'compute-b'


class Manager(move_recovery.MoveRecoveryMixin):
    host = SOURCE

    def __init__(self):
        self.driver = mock.Mock()
        self.driver.get_available_nodes.return_value = []
        self.finish_revert_resize = mock.Mock()
        self._restart_here = mock.Mock()
        self._live_migrations_lock = threading.Lock()
        self._live_migrations = {}
        self._moves_in_flight = set()


def make_migration(context, instance, status, migration_type='migration',
                   source=SOURCE):
    migration = objects.Migration(
        context, instance_uuid=instance.uuid, migration_type=migration_type,
        status=status, source_compute=source, source_node=source,
        dest_compute=DEST, dest_node=DEST)
    migration.create()
    return migration


class UnsettledRevertTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = test_cold_migrate_late.admin_context()
        # As both failed saves leave it: on the destination, reverting.
        self.instance = test_cold_migrate_late.make_instance(self.context,
                                                             host=DEST)
        self.instance.task_state = task_states.RESIZE_REVERTING
        self.instance.save()
        self.migration = self.make_migration('error')
        self.manager = Manager()

    def make_migration(self, status, source=SOURCE):
        return make_migration(self.context, self.instance, status,
                              source=source)

    def sweep(self, startup=True):
        self.manager._recover_moves(self.context, startup=startup)

    def assert_finished(self, migration):
        finish = self.manager.finish_revert_resize
        finish.assert_called_once()
        _context, instance, called_with = finish.call_args.args
        self.assertEqual(self.instance.uuid, instance.uuid)
        self.assertEqual(migration.id, called_with.id)

    def test_revert_ended_in_error_is_finished(self):
        self.sweep()
        self.assert_finished(self.migration)

    def test_revert_still_running_its_steps_is_left_alone(self):
        # The migration is not 'error' yet: the revert flow (or the
        # sweep of moves in progress) owns it.
        self.migration.status = 'finished'
        self.migration.save()
        self.sweep()
        self.manager.finish_revert_resize.assert_not_called()

    def test_revert_to_another_source_is_left_alone(self):
        self.migration.source_compute = 'compute-c'
        self.migration.save()
        self.sweep()
        self.manager.finish_revert_resize.assert_not_called()

    def test_only_the_newest_migration_counts(self):
        # An older move of the instance ended in error from here; its
        # newest move belongs to another host.
        self.make_migration('finished', source='compute-c')
        self.sweep()
        self.manager.finish_revert_resize.assert_not_called()

    def test_reverting_with_a_live_migration_is_left_alone(self):
        self.migration.migration_type = 'live-migration'
        self.migration.save()
        self.sweep()
        self.manager.finish_revert_resize.assert_not_called()

    def test_instance_not_reverting_is_left_alone(self):
        self.instance.task_state = None
        self.instance.save()
        self.sweep()
        self.manager.finish_revert_resize.assert_not_called()

    def test_a_step_of_this_process_still_running_is_waited_for(self):
        self.manager._moves_in_flight.add(self.migration.id)
        self.sweep()
        self.manager.finish_revert_resize.assert_not_called()

    def test_periodic_sweep_waits_for_the_stuck_timeout(self):
        self.flags(migration_stuck_timeout=600, group='compute')
        self.sweep(startup=False)
        self.manager.finish_revert_resize.assert_not_called()
        later = timeutils.utcnow() + datetime.timedelta(seconds=601)
        with mock.patch.object(timeutils, 'utcnow', return_value=later):
            self.sweep(startup=False)
        self.assert_finished(self.migration)

    def test_a_failed_finish_is_retried_by_the_next_sweep(self):
        self.manager.finish_revert_resize.side_effect = [
            RuntimeError('database gone'), None]
        self.sweep()
        self.sweep()
        self.assertEqual(2, self.manager.finish_revert_resize.call_count)


class UnsettledRollbackTestCase(test.TestCase):
    """Rollbacks whose last save of the instance failed."""

    def setUp(self):
        super().setUp()
        self.context = test_cold_migrate_late.admin_context()
        self.instance = test_cold_migrate_late.make_instance(self.context,
                                                             host=SOURCE)
        self.manager = Manager()

    def stuck_in(self, task_state, status, migration_type):
        self.instance.task_state = task_state
        self.instance.save()
        return make_migration(self.context, self.instance, status,
                              migration_type)

    def task_state(self):
        return objects.Instance.get_by_uuid(
            self.context, self.instance.uuid).task_state

    def test_live_rollback_ended_clears_migrating(self):
        for status in ('failed', 'cancelled', 'error'):
            self.stuck_in(task_states.MIGRATING, status, 'live-migration')
            self.manager._recover_moves(self.context, startup=True)
            self.assertIsNone(self.task_state(), status)
        self.manager._restart_here.assert_not_called()

    def test_live_rollback_ended_drops_its_claim_from_the_record(self):
        migration = self.stuck_in(task_states.MIGRATING, 'failed',
                                  'live-migration')
        self.instance.migration_context = objects.MigrationContext(
            instance_uuid=self.instance.uuid, migration_id=migration.id,
            old_resources=None, new_resources=None)
        self.instance.save()
        self.manager._recover_moves(self.context, startup=True)
        instance = objects.Instance.get_by_uuid(
            self.context, self.instance.uuid,
            expected_attrs=['migration_context'])
        self.assertIsNone(instance.task_state)
        self.assertIsNone(instance.migration_context)

    def test_live_migration_still_running_is_left_alone(self):
        self.stuck_in(task_states.MIGRATING, 'running', 'live-migration')
        self.manager._recover_moves(self.context, startup=True)
        self.assertEqual(task_states.MIGRATING, self.task_state())

    def test_live_migration_completed_is_left_alone(self):
        # The destination's own save ends a completed move.
        self.stuck_in(task_states.MIGRATING, 'completed', 'live-migration')
        self.manager._recover_moves(self.context, startup=True)
        self.assertEqual(task_states.MIGRATING, self.task_state())

    def test_cold_rollback_ended_starts_the_guest_again(self):
        migration = self.stuck_in(task_states.RESIZE_MIGRATED, 'failed',
                                  'migration')
        self.manager._recover_moves(self.context, startup=True)
        self.manager._restart_here.assert_called_once()
        instance, states = self.manager._restart_here.call_args.args
        self.assertEqual(self.instance.uuid, instance.uuid)
        self.assertEqual(sorted([task_states.RESIZE_PREP,
                                 task_states.RESIZE_MIGRATING,
                                 task_states.RESIZE_MIGRATED]), states)
        self.assertEqual('failed', objects.Migration.get_by_id(
            self.context, migration.id).status)

    def test_cold_move_elsewhere_or_not_ended_is_left_alone(self):
        # A move that still runs, and one whose instance is recorded on
        # another host (the destination took it over).
        self.stuck_in(task_states.RESIZE_MIGRATING, 'migrating',
                      'migration')
        self.manager._recover_moves(self.context, startup=True)
        self.instance.host = DEST
        self.instance.save()
        self.stuck_in(task_states.RESIZE_MIGRATING, 'error', 'migration')
        self.manager._recover_moves(self.context, startup=True)
        self.manager._restart_here.assert_not_called()

    def test_guest_that_will_not_start_leaves_the_server_in_error(self):
        self.manager = RestartingManager()
        self.stuck_in(task_states.RESIZE_MIGRATED, 'failed', 'migration')
        self.manager._recover_moves(self.context, startup=True)
        instance = objects.Instance.get_by_uuid(
            self.context, self.instance.uuid, expected_attrs=['fault'])
        self.assertEqual((vm_states.ERROR, None),
                         (instance.vm_state, instance.task_state))
        self.assertIn('qemu on fire', instance.fault.message)


class RestartingManager(cold_migration.ColdMigrationMixin, Manager):
    """The cold rollback's own restart, with a guest that will not start."""

    def __init__(self):
        super().__init__()
        del self._restart_here
        self.driver.restart_migrated_guest.side_effect = (
            exception.NovaException('qemu on fire'))

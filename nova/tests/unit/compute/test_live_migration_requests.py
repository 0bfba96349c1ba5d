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

"""Requests that reach a live migration's source before its copy runs.

The cast that starts the migration takes it for 'preparing' in one
compare-and-swap, unless an abort or the host's recovery came first.

Between a migration turning 'running' and the driver registering its job
(the pre-flight dirty-rate sample, the destination's start) the driver
answers InstanceNotInMigration; the manager retries within a short
window instead of refusing the user's request.
"""

from unittest import mock

import fixtures

from nova.compute import live_migration
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit.compute import test_cold_migrate_late

UUID = '8f1c2b7e-4d3a-4f6b-9e2d-1a5c7b9d0e3f'


class Manager(live_migration.LiveMigrationMixin):
    def __init__(self):
        self._init_live_migration()


class WhenRegisteredTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.manager = Manager()
        self.instance = objects.Instance(uuid=UUID)
        self.manager._live_migrations[UUID] = mock.sentinel.migration

    def _request(self, failures):
        calls = []

        def request(instance):
            calls.append(instance.uuid)
            if len(calls) <= failures:
                raise exception.InstanceNotInMigration(
                    instance_uuid=instance.uuid)
        return request, calls

    @mock.patch('time.sleep')
    def test_retried_until_the_driver_registered_the_job(self, sleep):
        request, calls = self._request(failures=3)
        self.manager._when_driver_job_registered(self.instance, request)
        self.assertEqual([UUID] * 4, calls)
        self.assertEqual(3, sleep.call_count)

    @mock.patch('time.sleep')
    def test_migration_that_ended_needs_nothing(self, sleep):
        request, calls = self._request(failures=1)
        del self.manager._live_migrations[UUID]
        self.manager._when_driver_job_registered(self.instance, request)
        self.assertEqual([UUID], calls)

    @mock.patch('time.sleep')
    @mock.patch('time.monotonic')
    def test_gives_up_after_the_window(self, monotonic, sleep):
        monotonic.side_effect = [0.0, 5.0,
                                 live_migration.ABORT_WAIT_SECONDS + 1]
        request, calls = self._request(failures=100)
        self.assertRaises(exception.InstanceNotInMigration,
                          self.manager._when_driver_job_registered,
                          self.instance, request)
        self.assertEqual(2, len(calls))

    @mock.patch('time.sleep')
    def test_force_complete_waits_for_the_job_too(self, sleep):
        self.manager.driver = mock.Mock()
        self.manager.driver.live_migration_force_complete.side_effect = [
            exception.InstanceNotInMigration(instance_uuid=UUID), None]
        # Undecorated: the instance action wrapper is not under test.
        method = live_migration.LiveMigrationMixin.\
            live_migration_force_complete.__wrapped__
        method(self.manager, mock.sentinel.context, self.instance)
        self.assertEqual(
            2, self.manager.driver.live_migration_force_complete.call_count)


class TakeForPreparingTestCase(test.TestCase):
    """The source takes a migration cast to it in one compare-and-swap."""

    def setUp(self):
        super().setUp()
        self.context = test_cold_migrate_late.admin_context()
        self.instance = test_cold_migrate_late.make_instance(self.context)
        self.manager = Manager()
        self.manager._rollback_live_migration = mock.Mock()
        self.reads = self.useFixture(fixtures.MockPatchObject(
            objects.Migration, 'get_by_id',
            wraps=objects.Migration.get_by_id)).mock

    def _cast(self, stored_status):
        """The migration as cast ('accepted'); the row ``stored_status``."""
        migration = objects.Migration(
            self.context, instance_uuid=self.instance.uuid,
            migration_type='live-migration', status='accepted',
            source_compute='compute-a', source_node='compute-a',
            dest_compute='compute-b', dest_node='compute-b')
        migration.create()
        if stored_status != 'accepted':
            stored = objects.Migration.get_by_id(self.context, migration.id)
            stored.status = stored_status
            stored.save()
            self.reads.reset_mock()
        return migration

    def _take(self, migration):
        return self.manager._take_for_preparing(
            self.context, self.instance, 'compute-b', migration)

    def _stored(self, migration):
        return objects.Migration.get_by_id(self.context, migration.id).status

    def test_accepted_migration_is_taken_without_a_read(self):
        migration = self._cast('accepted')
        self.assertTrue(self._take(migration))
        self.reads.assert_not_called()
        self.assertEqual('preparing', self._stored(migration))
        self.manager._rollback_live_migration.assert_not_called()

    def test_queued_migration_is_taken(self):
        migration = self._cast('queued')
        self.assertTrue(self._take(migration))
        self.assertEqual('preparing', self._stored(migration))

    def test_abort_before_the_cast_ends_it_cancelled(self):
        migration = self._cast('cancelling')
        self.assertFalse(self._take(migration))
        rollback = self.manager._rollback_live_migration
        rollback.assert_called_once_with(
            self.context, self.instance, 'compute-b', migration, mock.ANY,
            status='cancelled')
        self.assertIsInstance(rollback.call_args.args[4],
                              exception.LiveMigrationAborted)
        # Nothing written by the refused swap.
        self.assertEqual('cancelling', self._stored(migration))

    def test_stale_cast_changes_nothing(self):
        migration = self._cast('failed')
        self.assertFalse(self._take(migration))
        self.manager._rollback_live_migration.assert_not_called()
        self.assertEqual('failed', self._stored(migration))
        self.assertEqual('failed', migration.status)

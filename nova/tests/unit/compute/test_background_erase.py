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

"""Unit tests of the resource tracker's erases in the background.

The source of a live migration marks the namespaces it gives up
``erasing`` at once and erases them in the tracker's erase worker; a
service stopped in the middle leaves them to the reconcile.
"""

import threading

from nova import exception
from nova import objects
from nova.tests.unit.compute import test_resource_tracker as rt_base

RC = rt_base.RC
NODE = rt_base.NODE


class GatedDriver(rt_base.FakeDriver):
    """Erases only once ``gate`` is set; ``started`` tells who waits."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()
        self.started = threading.Event()

    def erase_vpmems(self, context, resources):
        self.started.set()
        if not self.gate.wait(10):
            raise AssertionError('the test never opened the erase gate')
        return super().erase_vpmems(context, resources)


class TestBackgroundErase(rt_base.TrackerTestBase):

    def setUp(self):
        super().setUp()
        self.driver = GatedDriver()
        self.rt.driver = self.driver
        self.rt.namespaces.driver = self.driver
        # Never leave a worker thread waiting behind the test.
        self.addCleanup(self.driver.gate.set)

    def _migration(self, instance, status='post-migrating'):
        migration = objects.Migration(
            self.context, instance_uuid=instance.uuid,
            source_compute='host-a', source_node=NODE,
            dest_compute='host-b', dest_node='node-b',
            migration_type='live-migration', status=status)
        migration.create()
        return migration

    def test_marked_erasing_at_once_and_freed_by_the_worker(self):
        instance, claimed = self._claim(2)
        migration = self._migration(instance)
        pending = self.rt.start_give_up(claimed, instance.uuid,
                                        migration=migration,
                                        final_status='completed')
        # Nothing erased yet, and nothing claimable.
        self.assertEqual([], self.driver.erased)
        self.assertEqual({'ns0': 'erasing', 'ns1': 'erasing',
                          'ns2': 'free'}, self._states())
        self.assertEqual('erasing', self._record('ns0').state)
        self.assertEqual({'ns2'}, {r.identifier for r in
                                   self.rt.free_resources(NODE, RC)})
        self._claim(1)
        self.assertRaises(exception.ComputeResourcesUnavailable,
                          self._claim, 1)

        done = []
        future = self.rt.erase_in_background(self.context, pending,
                                             giver=migration.uuid,
                                             then=done.append)
        self.assertTrue(self.driver.started.wait(10))
        self.assertFalse(self.rt.wait_for_background_erases(0.05))
        self.assertEqual('erasing', self._record('ns1').state)
        self.driver.gate.set()
        self.assertTrue(self.rt.wait_for_background_erases(10))
        result = future.result()
        self.assertIs(result, done[0])
        self.assertTrue(result.clean)
        self.assertEqual(['ns0', 'ns1'],
                         sorted(r.identifier for r in result.erased))
        self.assertGreaterEqual(result.erase_seconds, 0.0)
        self.assertEqual('free', self._record('ns0').state)
        self.assertEqual('free', self._record('ns1').state)
        self.report.move_to_quarantine.assert_not_called()

    def test_failure_in_the_worker_quarantines_and_moves_the_unit(self):
        instance, claimed = self._claim(2)
        migration = self._migration(instance)
        self.driver.failing = {'ns1'}
        self.driver.gate.set()
        pending = self.rt.start_give_up(claimed, instance.uuid,
                                        migration=migration,
                                        final_status='completed')
        done = []
        self.rt.erase_in_background(self.context, pending,
                                    giver=migration.uuid, then=done.append)
        self.assertTrue(self.rt.wait_for_background_erases(10))
        self.assertFalse(done[0].clean)
        self.assertEqual('free', self._record('ns0').state)
        record = self._record('ns1')
        self.assertEqual('quarantined', record.state)
        self.assertEqual(migration.uuid, record.migration_uuid)
        self.report.move_to_quarantine.assert_called_once_with(
            self.context, self.node.uuid, migration.uuid, {RC: 1})

    def test_nothing_to_erase_runs_nothing(self):
        instance = self._instance()
        pending = self.rt.start_give_up([], instance.uuid)
        called = []
        self.assertIsNone(self.rt.erase_in_background(
            self.context, pending, giver=instance.uuid, then=called.append))
        self.assertEqual([], called)
        self.assertTrue(self.rt.wait_for_background_erases(0))

    def test_worker_runs_one_erase_at_a_time_when_so_configured(self):
        self.flags(vpmem_background_erase_workers=1, group='compute')
        rt = self._tracker(self.driver, self.report)
        rt.update_available_resource(self.context, NODE)
        first, first_claim = self._claim_on(rt, 1)
        second, second_claim = self._claim_on(rt, 1)
        for instance, claimed in ((first, first_claim),
                                  (second, second_claim)):
            rt.erase_in_background(
                self.context, rt.start_give_up(claimed, instance.uuid),
                giver=instance.uuid)
        self.assertTrue(self.driver.started.wait(10))
        # The second waits its turn behind the first, still erasing.
        self.assertFalse(rt.wait_for_background_erases(0.2))
        self.assertEqual(0, len(self.driver.erased))
        self.driver.gate.set()
        self.assertTrue(rt.wait_for_background_erases(10))
        self.assertEqual(2, len(self.driver.erased))

    def _claim_on(self, rt, amount):
        instance = self._instance()
        return instance, rt.instance_claim(self.context, instance, NODE,
                                           self._allocs(amount))


class TestInterruptedBackgroundErase(rt_base.TrackerTestBase):

    def _interrupted(self, status):
        """ns0 of a migration left 'erasing' by a stopped service."""
        instance, claimed = self._claim(1)
        migration = objects.Migration(
            self.context, instance_uuid=instance.uuid,
            source_compute='host-a', source_node=NODE,
            dest_compute='host-b', dest_node='node-b',
            migration_type='live-migration', status='post-migrating')
        migration.create()
        self.rt.start_give_up(claimed, instance.uuid, migration=migration,
                              final_status='completed')
        migration.status = status
        migration.save()
        return instance, migration

    def test_new_tracker_quarantines_and_drops_the_move_allocations(self):
        instance, migration = self._interrupted('completed')
        report = self.report.__class__()
        fresh = self._tracker(self.driver, report)
        fresh.update_available_resource(self.context, NODE, startup=True)
        record = self._record('ns0')
        self.assertEqual('quarantined', record.state)
        self.assertIn('interrupted', record.reason)
        # Whose it was stays known: the retry settles that migration.
        self.assertEqual((instance.uuid, migration.uuid, 'completed'),
                         (record.instance_uuid, record.migration_uuid,
                          record.migration_final_status))
        report.delete_allocations.assert_called_once_with(self.context,
                                                          migration.uuid)
        # The retry erases and frees it.
        self.assertEqual({'ns0': True}, fresh.retry_erases(self.context))
        self.assertEqual('free', self._record('ns0').state)

    def test_move_not_completed_is_left_to_the_move_recovery(self):
        _instance, migration = self._interrupted('post-migrating')
        report = self.report.__class__()
        fresh = self._tracker(self.driver, report)
        fresh.update_available_resource(self.context, NODE, startup=True)
        self.assertEqual('quarantined', self._record('ns0').state)
        report.delete_allocations.assert_not_called()

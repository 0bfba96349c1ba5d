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

"""Placement writes made now, or kept in the database until placement is
back (the real DB; placement is a fake that can be down)."""

import uuid

import fixtures
from oslo_utils import timeutils

from nova.compute import placement_work
from nova import exception
from nova import objects
from nova import test

DOWN = exception.PlacementUnavailable(reason='injected: 503')


class FakeReport:
    """Records the writes; ``down`` makes them fail as an outage does."""

    def __init__(self):
        self.down = False
        self.calls = []

    def _write(self, *call):
        if self.down:
            raise DOWN
        self.calls.append(call)

    def delete_allocations(self, context, consumer):
        self._write('delete', consumer)

    def revert_move_allocations(self, context, instance, migration):
        self._write('revert', instance, migration)


class TestPlacementWork(test.TestCase):

    def setUp(self):
        super().setUp()
        self.report = FakeReport()
        # The retries' waits cost nothing here.
        self.useFixture(fixtures.MockPatch('time.sleep'))

    def _instance(self):
        flavor = objects.Flavor(
            self.context, name='f', flavorid='f', memory_mb=16, vcpus=1,
            root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={})
        flavor.create()
        instance = objects.Instance(self.context, flavor=flavor,
                                    vm_state='active')
        instance.create()
        return instance

    def test_done_at_once_when_placement_answers(self):
        self.assertTrue(placement_work.delete_allocations(
            self.context, self.report, 'host-a', 'c1'))
        self.assertEqual([('delete', 'c1')], self.report.calls)
        self.assertEqual([], placement_work.pending(self.context, 'host-a'))

    def test_a_short_outage_is_absorbed_by_the_retries(self):
        attempts = []

        def flaky(context, consumer):
            attempts.append(consumer)
            if len(attempts) < 3:
                raise DOWN

        self.report.delete_allocations = flaky
        self.assertTrue(placement_work.delete_allocations(
            self.context, self.report, 'host-a', 'c1'))
        self.assertEqual(3, len(attempts))
        self.assertEqual([], placement_work.pending(self.context, 'host-a'))

    def test_kept_while_placement_is_away_then_made(self):
        instance = self._instance()
        self.report.down = True
        self.assertFalse(placement_work.revert_move(
            self.context, self.report, 'host-a', instance.uuid, 'm1'))
        # Recorded once, however often the flow is re-run.
        placement_work.revert_move(self.context, self.report, 'host-a',
                                   instance.uuid, 'm1')
        [work] = placement_work.pending(self.context, 'host-a')
        self.assertEqual(('revert_move', instance.uuid, 'm1'),
                         (work['kind'], work['consumer_uuid'],
                          work['migration_uuid']))
        self.assertIn('injected: 503', work['last_error'])
        # Still away: kept, and tried again later.
        self.assertEqual(0, placement_work.settle(
            self.context, self.report, 'host-a', force=True))
        self.report.down = False
        self.assertEqual(1, placement_work.settle(
            self.context, self.report, 'host-a', force=True))
        self.assertEqual([('revert', instance.uuid, 'm1')],
                         self.report.calls)
        self.assertEqual([], placement_work.pending(self.context, 'host-a'))

    def test_settle_waits_longer_after_each_failure(self):
        start = timeutils.utcnow()
        timeutils.set_time_override(start)
        self.addCleanup(timeutils.clear_time_override)
        self.report.down = True
        placement_work.delete_allocations(self.context, self.report,
                                          'host-a', 'c1')
        [work] = placement_work.pending(self.context, 'host-a')
        first_delay = (timeutils.normalize_time(work['next_attempt_at']) -
                       start).total_seconds()
        self.report.down = False
        timeutils.advance_time_seconds(first_delay - 1)
        self.assertEqual(0, placement_work.settle(self.context, self.report,
                                                  'host-a'))
        self.assertEqual([], self.report.calls)
        timeutils.advance_time_seconds(1)
        self.assertEqual(1, placement_work.settle(self.context, self.report,
                                                  'host-a'))

    def test_a_revert_for_a_deleted_instance_frees_both(self):
        self.report.down = True
        gone = str(uuid.uuid4())
        placement_work.revert_move(self.context, self.report, 'host-a',
                                   gone, 'm1')
        self.report.down = False
        placement_work.settle(self.context, self.report, 'host-a',
                              force=True)
        self.assertEqual([('delete', 'm1'), ('delete', gone)],
                         self.report.calls)

    def test_settle_consumer_makes_any_hosts_writes_for_it_first(self):
        instance = self._instance()
        self.report.down = True
        placement_work.revert_move(self.context, self.report, 'host-a',
                                   instance.uuid, 'm1')
        placement_work.delete_allocations(self.context, self.report,
                                          'host-b', 'other')
        # Placement is still away: the next operation is refused.
        self.assertRaises(exception.PlacementUnavailable,
                          placement_work.settle_consumer, self.context,
                          self.report, instance.uuid)
        self.report.down = False
        placement_work.settle_consumer(self.context, self.report,
                                       instance.uuid)
        self.assertEqual([('revert', instance.uuid, 'm1')],
                         self.report.calls)
        self.assertEqual([], placement_work.pending(self.context, 'host-a'))
        self.assertEqual(1, len(placement_work.pending(self.context,
                                                       'host-b')))

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

"""Tests of the placement client against the real placement service."""

from unittest import mock
import uuid

from nova import exception
from nova.scheduler.client import report
from nova import test
from nova.tests import fixtures as nova_fixtures

PMEM = 'CUSTOM_PMEM_NAMESPACE_4GB'


def _inv(total):
    return {'total': total, 'reserved': 0, 'min_unit': 1, 'max_unit': total,
            'step_size': 1, 'allocation_ratio': 1.0}


class TestReportClient(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.placement = self.useFixture(nova_fixtures.PlacementFixture())
        self.client = report.SchedulerReportClient()
        self.rp_a = str(uuid.uuid4())
        self.rp_b = str(uuid.uuid4())
        for rp, name in ((self.rp_a, 'host-a'), (self.rp_b, 'host-b')):
            self.client.set_inventory(self.context, rp, name,
                                      {'VCPU': _inv(8), PMEM: _inv(2)})
        self.project = str(uuid.uuid4())
        self.user = str(uuid.uuid4())

    def test_inventory_with_custom_class(self):
        generation, inventories = self.client.get_inventory(
            self.context, self.rp_a)
        self.assertEqual({'VCPU', PMEM}, set(inventories))
        self.assertEqual(2, inventories[PMEM]['total'])
        # Writing the same inventory again changes nothing.
        self.assertEqual(generation, self.client.set_inventory(
            self.context, self.rp_a, 'host-a',
            {'VCPU': _inv(8), PMEM: _inv(2)}))

    def test_unchanged_inventory_costs_one_read(self):
        with mock.patch.object(self.client, '_request',
                               wraps=self.client._request) as request:
            self.client.set_inventory(self.context, self.rp_a, 'host-a',
                                      {'VCPU': _inv(8), PMEM: _inv(2)})
        self.assertEqual(
            [('GET', '/resource_providers/%s/inventories' % self.rp_a)],
            [c[0][:2] for c in request.call_args_list])

    def test_inventory_of_a_new_provider_creates_it(self):
        rp = str(uuid.uuid4())
        self.client.set_inventory(self.context, rp, 'host-new',
                                  {PMEM: _inv(3)})
        self.assertEqual('host-new',
                         self.client.get_provider(self.context, rp)['name'])
        self.assertEqual(3, self.client.get_inventory(
            self.context, rp)[1][PMEM]['total'])

    def test_inventory_retries_on_generation_conflict(self):
        real_get = self.client.get_inventory
        calls = []

        def stale_once(context, rp_uuid, create_as=None):
            generation, inventories = real_get(context, rp_uuid, create_as)
            calls.append(generation)
            if len(calls) == 1:
                # Another writer bumps the generation after our read.
                self.client.set_inventory(context, rp_uuid, 'host-a',
                                          {'VCPU': _inv(4), PMEM: _inv(2)})
            return generation, inventories

        self.client.get_inventory = stale_once
        self.client.set_inventory(self.context, self.rp_a, 'host-a',
                                  {'VCPU': _inv(8), PMEM: _inv(3)})
        self.client.get_inventory = real_get
        _gen, inventories = self.client.get_inventory(self.context, self.rp_a)
        self.assertEqual(3, inventories[PMEM]['total'])
        self.assertGreaterEqual(len(calls), 2)

    def test_inventory_conflicts_exhaust_retries(self):
        self.flags(generation_conflict_retries=1, group='placement')
        real_get = self.client.get_inventory

        def always_stale(context, rp_uuid, create_as=None):
            generation, inventories = real_get(context, rp_uuid, create_as)
            return generation - 1, inventories

        self.client.get_inventory = always_stale
        self.assertRaises(exception.ResourceProviderUpdateConflict,
                          self.client.set_inventory, self.context,
                          self.rp_a, 'host-a', {'VCPU': _inv(1)})

    def test_claim_and_capacity_refusal(self):
        inst1, inst2 = str(uuid.uuid4()), str(uuid.uuid4())
        self.client.claim_resources(self.context, inst1,
                                    {self.rp_a: {PMEM: 2, 'VCPU': 1}},
                                    self.project, self.user)
        self.assertEqual({PMEM: 2, 'VCPU': 1},
                         self.client.get_usages(self.context, self.rp_a))
        err = self.assertRaises(
            exception.AllocationUpdateFailed, self.client.claim_resources,
            self.context, inst2, {self.rp_a: {PMEM: 1}}, self.project,
            self.user)
        self.assertIn(inst2, str(err))
        self.assertEqual(
            {}, self.client.get_allocations_for_consumer(
                self.context, inst2)['allocations'])

    def test_removing_allocated_inventory_is_refused(self):
        inst = str(uuid.uuid4())
        self.client.claim_resources(self.context, inst,
                                    {self.rp_a: {PMEM: 1}},
                                    self.project, self.user)
        err = self.assertRaises(
            exception.InventoryInUse, self.client.set_inventory,
            self.context, self.rp_a, 'host-a', {'VCPU': _inv(8)})
        self.assertIn(PMEM, str(err))

    def _move_and_claim(self, inst, migration, destination):
        doc = self.client.get_allocations_for_consumer(self.context, inst)
        return self.client.move_and_claim(self.context, inst, doc,
                                          migration, destination)

    def test_move_and_claim_is_one_atomic_write(self):
        inst, migration = str(uuid.uuid4()), str(uuid.uuid4())
        self.client.claim_resources(self.context, inst,
                                    {self.rp_a: {PMEM: 1, 'VCPU': 2}},
                                    self.project, self.user)
        doc = self.client.get_allocations_for_consumer(self.context, inst)
        with mock.patch.object(self.client, '_request',
                               wraps=self.client._request) as request:
            self.assertTrue(self.client.move_and_claim(
                self.context, inst, doc, migration,
                {self.rp_b: {PMEM: 1, 'VCPU': 2}}))
        self.assertEqual(['POST'], [c[0][0] for c in request.call_args_list])
        claimed = self.client.get_allocations_for_consumer(self.context,
                                                           inst)
        self.assertEqual({self.rp_b: {PMEM: 1, 'VCPU': 2}},
                         {rp: a['resources'] for rp, a in
                          claimed['allocations'].items()})
        self.assertEqual(report.CONSUMER_TYPE_INSTANCE,
                         claimed['consumer_type'])
        moved = self.client.get_allocations_for_consumer(self.context,
                                                         migration)
        self.assertEqual({self.rp_a: {PMEM: 1, 'VCPU': 2}},
                         {rp: a['resources'] for rp, a in
                          moved['allocations'].items()})
        self.assertEqual(report.CONSUMER_TYPE_MIGRATION,
                         moved['consumer_type'])
        self.assertEqual(self.project, moved['project_id'])
        # The source stays used (now by the migration) while it moves.
        self.assertEqual({PMEM: 1, 'VCPU': 2},
                         self.client.get_usages(self.context, self.rp_a))

    def test_move_and_claim_refused_for_capacity_changes_nothing(self):
        inst, migration = str(uuid.uuid4()), str(uuid.uuid4())
        self.client.claim_resources(self.context, inst,
                                    {self.rp_a: {PMEM: 1}},
                                    self.project, self.user)
        self.client.claim_resources(self.context, str(uuid.uuid4()),
                                    {self.rp_b: {PMEM: 2}},
                                    self.project, self.user)
        doc = self.client.get_allocations_for_consumer(self.context, inst)
        self.assertFalse(self.client.move_and_claim(
            self.context, inst, doc, migration, {self.rp_b: {PMEM: 1}}))
        self.assertEqual({self.rp_a}, set(
            self.client.get_allocations_for_consumer(
                self.context, inst)['allocations']))
        self.assertEqual({}, self.client.get_allocations_for_consumer(
            self.context, migration)['allocations'])
        # The same document serves the next candidate.
        self.client.delete_allocations(self.context, self.client.
                                       get_provider_allocations(
                                           self.context, self.rp_b).
                                       popitem()[0])
        self.assertTrue(self.client.move_and_claim(
            self.context, inst, doc, migration, {self.rp_b: {PMEM: 1}}))

    def test_move_and_claim_with_a_stale_read_raises(self):
        inst, migration = str(uuid.uuid4()), str(uuid.uuid4())
        self.client.claim_resources(self.context, inst,
                                    {self.rp_a: {PMEM: 1}},
                                    self.project, self.user)
        doc = self.client.get_allocations_for_consumer(self.context, inst)
        # Someone else writes the instance's allocations meanwhile.
        self.assertTrue(self.client.put_allocations(
            self.context, inst, {self.rp_a: {PMEM: 2}}, self.project,
            self.user, doc['consumer_generation']))
        self.assertRaises(exception.AllocationMoveFailed,
                          self.client.move_and_claim, self.context, inst,
                          doc, migration, {self.rp_b: {PMEM: 1}})
        self.assertEqual({PMEM: 2, 'VCPU': 0},
                         self.client.get_usages(self.context, self.rp_a))
        self.assertEqual({}, self.client.get_allocations_for_consumer(
            self.context, migration)['allocations'])

    def test_stale_consumer_generation_is_refused(self):
        inst = str(uuid.uuid4())
        self.client.claim_resources(self.context, inst,
                                    {self.rp_a: {PMEM: 1}},
                                    self.project, self.user)
        self.assertFalse(self.client.put_allocations(
            self.context, inst, {self.rp_b: {PMEM: 1}}, self.project,
            self.user, consumer_generation=None))
        self.assertEqual({PMEM: 0, 'VCPU': 0},
                         self.client.get_usages(self.context, self.rp_b))

    def test_delete_allocations(self):
        inst = str(uuid.uuid4())
        self.client.claim_resources(self.context, inst,
                                    {self.rp_b: {PMEM: 2}},
                                    self.project, self.user)
        self.client.delete_allocations(self.context, inst)
        self.client.delete_allocations(self.context, inst)  # idempotent
        self.assertEqual({PMEM: 0, 'VCPU': 0},
                         self.client.get_usages(self.context, self.rp_b))

    def test_allocation_candidates_follow_capacity(self):
        reqs, summaries = self.client.get_allocation_candidates(
            self.context, {PMEM: 2})
        self.assertEqual({self.rp_a, self.rp_b}, set(summaries))
        self.client.claim_resources(self.context, str(uuid.uuid4()),
                                    {self.rp_a: {PMEM: 1}},
                                    self.project, self.user)
        reqs, summaries = self.client.get_allocation_candidates(
            self.context, {PMEM: 2})
        self.assertEqual([self.rp_b],
                         [rp for r in reqs for rp in r['allocations']])

    def test_unreachable_placement_names_endpoint(self):
        report.configure_token_auth(self.conf, 'http://127.0.0.1:9', 'admin')
        client = report.SchedulerReportClient()
        err = self.assertRaises(exception.PlacementAPIConnectFailure,
                                client.get_usages, self.context, self.rp_a)
        self.assertIn('127.0.0.1:9', str(err))

    def _moved(self):
        inst, migration = str(uuid.uuid4()), str(uuid.uuid4())
        self.client.claim_resources(self.context, inst,
                                    {self.rp_a: {PMEM: 2, 'VCPU': 1}},
                                    self.project, self.user)
        self.assertTrue(self._move_and_claim(
            inst, migration, {self.rp_b: {PMEM: 2, 'VCPU': 1}}))
        return inst, migration

    def test_revert_move_restores_source_and_frees_destination(self):
        inst, migration = self._moved()
        self.client.revert_move_allocations(self.context, inst, migration)
        self.assertEqual(
            {self.rp_a}, set(self.client.get_allocations_for_consumer(
                self.context, inst)['allocations']))
        self.assertEqual({}, self.client.get_allocations_for_consumer(
            self.context, migration)['allocations'])
        self.assertEqual(0, self.client.get_usages(
            self.context, self.rp_b)[PMEM])
        self.assertEqual(2, self.client.get_usages(
            self.context, self.rp_a)[PMEM])

    def test_drop_provider_allocations_keeps_the_other_providers(self):
        inst = str(uuid.uuid4())
        self.client.claim_resources(
            self.context, inst, {self.rp_a: {PMEM: 1, 'VCPU': 1},
                                 self.rp_b: {PMEM: 1, 'VCPU': 1}},
            self.project, self.user)
        self.assertTrue(self.client.drop_provider_allocations(
            self.context, inst, self.rp_b))
        held = self.client.get_allocations_for_consumer(self.context, inst)
        self.assertEqual({self.rp_a: {PMEM: 1, 'VCPU': 1}},
                         {rp: a['resources']
                          for rp, a in held['allocations'].items()})
        self.assertEqual(0, self.client.get_usages(
            self.context, self.rp_b)[PMEM])
        # Nothing left there: nothing to do.
        self.assertFalse(self.client.drop_provider_allocations(
            self.context, inst, self.rp_b))

    def test_drop_provider_allocations_retries_a_concurrent_update(self):
        inst = str(uuid.uuid4())
        self.client.claim_resources(
            self.context, inst, {self.rp_a: {PMEM: 1},
                                 self.rp_b: {PMEM: 1}},
            self.project, self.user)
        real_get = self.client.get_allocations_for_consumer
        calls = []

        def changed_once(context, consumer):
            doc = real_get(context, consumer)
            if not calls:
                calls.append(consumer)
                # Someone writes the consumer between our read and write.
                self.client.put_allocations(
                    context, inst, {self.rp_a: {PMEM: 1, 'VCPU': 1},
                                    self.rp_b: {PMEM: 1}},
                    self.project, self.user, doc['consumer_generation'])
            return doc

        with mock.patch.object(self.client, 'get_allocations_for_consumer',
                               side_effect=changed_once):
            self.assertTrue(self.client.drop_provider_allocations(
                self.context, inst, self.rp_b))
        held = real_get(self.context, inst)['allocations']
        # The concurrent write is kept; only rp_b's allocation went.
        self.assertEqual({self.rp_a: {PMEM: 1, 'VCPU': 1}},
                         {rp: a['resources'] for rp, a in held.items()})

    def _hold(self, rp):
        return self.client.get_quarantine_hold(self.context, rp)

    def test_move_to_quarantine_is_one_write_within_capacity(self):
        # Both namespaces of rp_a are allocated: a two-step hand-over
        # (hold first) would exceed the capacity and be refused.
        inst = str(uuid.uuid4())
        self.client.claim_resources(self.context, inst,
                                    {self.rp_a: {PMEM: 2, 'VCPU': 1}},
                                    self.project, self.user)
        self.assertTrue(self.client.move_to_quarantine(
            self.context, self.rp_a, inst, {PMEM: 1}))
        self.assertEqual({PMEM: 1}, self._hold(self.rp_a))
        self.assertEqual(
            {PMEM: 1, 'VCPU': 1},
            self.client.get_allocations_for_consumer(
                self.context, inst)['allocations'][self.rp_a]['resources'])
        self.assertEqual(2, self.client.get_usages(
            self.context, self.rp_a)[PMEM])
        hold = self.client.get_allocations_for_consumer(
            self.context, report.quarantine_consumer(self.rp_a))
        self.assertEqual(report.CONSUMER_TYPE_QUARANTINE,
                         hold['consumer_type'])
        self.assertEqual(report.QUARANTINE_PROJECT_ID, hold['project_id'])

    def test_concurrent_quarantines_add_up(self):
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        for inst in (first, second):
            self.client.claim_resources(self.context, inst,
                                        {self.rp_a: {PMEM: 1}},
                                        self.project, self.user)
        self.client.move_to_quarantine(self.context, self.rp_a, first,
                                       {PMEM: 1})
        self.client.move_to_quarantine(self.context, self.rp_a, second,
                                       {PMEM: 1})
        self.assertEqual({PMEM: 2}, self._hold(self.rp_a))
        for inst in (first, second):
            self.assertEqual({}, self.client.get_allocations_for_consumer(
                self.context, inst)['allocations'])

    def test_giver_that_holds_nothing_still_adds_to_the_hold(self):
        gone = str(uuid.uuid4())
        self.client.move_to_quarantine(self.context, self.rp_b, gone,
                                       {PMEM: 1})
        self.assertEqual({PMEM: 1}, self._hold(self.rp_b))

    def test_hold_is_set_to_a_level_and_dropped_at_zero(self):
        self.assertTrue(self.client.set_quarantine_hold(
            self.context, self.rp_a, {PMEM: 2}))
        self.assertFalse(self.client.set_quarantine_hold(
            self.context, self.rp_a, {PMEM: 2}))
        # The scheduler no longer offers rp_a's namespaces.
        reqs, _summaries = self.client.get_allocation_candidates(
            self.context, {PMEM: 1})
        self.assertEqual([self.rp_b],
                         [rp for r in reqs for rp in r['allocations']])
        self.assertTrue(self.client.set_quarantine_hold(
            self.context, self.rp_a, {PMEM: 0}))
        self.assertEqual({}, self._hold(self.rp_a))
        self.assertEqual(0, self.client.get_usages(
            self.context, self.rp_a)[PMEM])

    def test_quarantine_consumer_is_per_provider_and_stable(self):
        self.assertEqual(report.quarantine_consumer(self.rp_a),
                         report.quarantine_consumer(self.rp_a))
        self.assertNotEqual(report.quarantine_consumer(self.rp_a),
                            report.quarantine_consumer(self.rp_b))

    def test_revert_move_is_idempotent(self):
        inst, migration = self._moved()
        self.assertTrue(self.client.revert_move_allocations(
            self.context, inst, migration))
        self.assertFalse(self.client.revert_move_allocations(
            self.context, inst, migration))
        self.assertEqual(
            {self.rp_a}, set(self.client.get_allocations_for_consumer(
                self.context, inst)['allocations']))

    def test_server_error_is_an_outage_not_an_answer(self):
        client = report.SchedulerReportClient(adapter=mock.Mock())
        client.adapter.request.return_value = mock.Mock(
            status_code=503, text='down',
            json=mock.Mock(return_value={'errors': [{'detail': 'down'}]}))
        err = self.assertRaises(exception.PlacementUnavailable,
                                client.delete_allocations, self.context,
                                str(uuid.uuid4()))
        self.assertEqual(503, err.code)
        self.assertIn('Placement unreachable', err.format_message())
        self.assertIn('503', err.format_message())

    def test_refused_connection_is_an_outage(self):
        report.configure_token_auth(self.conf, 'http://127.0.0.1:9', 'admin')
        client = report.SchedulerReportClient()
        err = self.assertRaises(exception.PlacementUnavailable,
                                client.get_allocations_for_consumer,
                                self.context, str(uuid.uuid4()))
        self.assertEqual(503, err.code)

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

"""The cost of the tracker's periodic work does not grow with the host.

Times would be flaky; what makes an update grow is its work per
namespace, instance or migration: a query or a placement request each, or
a versioned object rebuilt each time. These tests count those at two
sizes and require the same count (the real database counts statements).
"""

import contextlib
from unittest import mock

import sqlalchemy as sa

from nova.db import api as db
from nova import objects
from nova.tests.unit.compute import test_resource_tracker as base

NODE = base.NODE


@contextlib.contextmanager
def counting_statements():
    """Yield a list that gets each SQL statement run meanwhile."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.get_engine()
    sa.event.listen(engine, 'before_cursor_execute', count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, 'before_cursor_execute', count)


@contextlib.contextmanager
def counting_records():
    """Yield a list that gets the name of each namespace record built."""
    built = []
    real = objects.VPMEMNamespace._from_db_object

    def building(context, record, row):
        built.append(row['name'])
        return real(context, record, row)

    with mock.patch.object(objects.VPMEMNamespace, '_from_db_object',
                           side_effect=building):
        yield built


def _writes(statements):
    return [s for s in statements
            if s.split(None, 1)[0].upper() in ('INSERT', 'UPDATE', 'DELETE')]


class TestUpdateCost(base.TrackerTestBase):
    """One update of a host with ``n`` namespaces, half of them held."""

    def _host(self, count):
        """A fresh tracker on ``count`` namespaces, half held by instances."""
        self.driver.names = ['ns%d' % i for i in range(count)]
        self.rt.update_available_resource(self.context, NODE)
        self.rt.retry_erases(self.context)
        for _ in range(count // 2):
            self._claim(1)
        # The first update after a change writes it; count the next ones.
        self.rt.update_available_resource(self.context, NODE)

    def _cost(self):
        """(SQL statements, writes, placement calls, records built)."""
        self.report.reset_mock()
        with counting_statements() as statements, \
                counting_records() as built:
            self.rt.update_available_resource(self.context, NODE)
        return (len(statements), len(_writes(statements)),
                len(self.report.mock_calls), len(built))

    def test_cost_does_not_grow_with_namespaces_and_instances(self):
        self._host(4)
        small = self._cost()
        self._host(40)
        large = self._cost()
        self.assertEqual(small, large)

    def test_an_unchanged_host_is_not_written_nor_rebuilt(self):
        self._host(10)
        with counting_statements() as statements:
            _statements, writes, _calls, built = self._cost()
        self.assertEqual((0, 0), (writes, built))
        # Its compute node record is not even read (a save with nothing
        # to write would read it, in a write transaction).
        self.assertEqual([], [s for s in statements if 'compute_nodes' in s])

    def test_node_usage_is_still_written_when_it_changes(self):
        self._host(4)
        instance, _claimed = self._claim(1)
        self.rt.update_available_resource(self.context, NODE)
        node = objects.ComputeNode.get_by_host_and_nodename(
            self.context, 'host-a', NODE)
        self.assertEqual(3 * 128, node.memory_mb_used)
        instance.destroy()
        self.rt.update_available_resource(self.context, NODE)
        node = objects.ComputeNode.get_by_host_and_nodename(
            self.context, 'host-a', NODE)
        self.assertEqual(2 * 128, node.memory_mb_used)

    def test_incoming_moves_are_read_in_one_query(self):
        self._host(10)
        self._incoming('running')
        one = self._cost()
        for _ in range(4):
            self._incoming('running')
        five = self._cost()
        self.assertEqual(one, five)


class TestRecordsAreReadAgain(base.TrackerTestBase):
    """Reusing unchanged records never hides another writer's change."""

    def test_a_change_behind_the_trackers_back_is_seen(self):
        self.rt.update_available_resource(self.context, NODE)
        record = self._record('ns1')
        # As nova-manage does it: straight to the database.
        db.vpmem_namespace_update(self.context, record.id,
                                  {'state': 'quarantined',
                                   'reason': 'by hand'})
        self.rt.update_available_resource(self.context, NODE)
        self.assertEqual('quarantined', self._states()['ns1'])
        self.assertEqual('by hand', self.rt.namespaces.record(
            (self.node.uuid, base.RC, 'ns1')).reason)

    def test_a_record_changed_here_is_built_from_its_new_row(self):
        instance, _claimed = self._claim(1)
        self.rt.update_available_resource(self.context, NODE)
        held = self.rt.namespaces.record((self.node.uuid, base.RC, 'ns0'))
        self.assertEqual(('assigned', instance.uuid),
                         (held.state, held.instance_uuid))
        # The instance lets go of it (a crash between the two steps): the
        # next update quarantines it, and the one after agrees.
        instance.resources = objects.ResourceList(objects=[])
        instance.save()
        self.rt.update_available_resource(self.context, NODE)
        self.rt.update_available_resource(self.context, NODE)
        self.assertEqual('quarantined', self._states()['ns0'])
        self.assertEqual('quarantined', self._record('ns0').state)


class TestRetryCost(base.TrackerTestBase):
    """The erase retry timer reads quarantined records only."""

    def _retry_cost(self):
        """(SQL statements, records built) of one retry round."""
        with counting_statements() as statements, \
                counting_records() as built:
            self.rt.retry_erases(self.context)
        return len(statements), len(built)

    def test_retry_cost_does_not_grow_with_namespaces(self):
        small = self._retry_cost()
        self.driver.names = ['ns%d' % i for i in range(40)]
        self.rt.update_available_resource(self.context, NODE)
        self.rt.retry_erases(self.context)
        self.assertEqual(small, self._retry_cost())
        self.assertEqual(0, small[1])

    def test_quarantine_by_hand_is_retried(self):
        record = self._record('ns2')
        db.vpmem_namespace_update(self.context, record.id,
                                  {'state': 'quarantined',
                                   'reason': 'by hand'})
        self.assertEqual({'ns2': True}, self.rt.retry_erases(self.context))
        self.assertEqual(['ns2'], self.driver.erased)
        self.assertEqual('free', self._record('ns2').state)

    def test_quarantined_here_but_changed_elsewhere_is_not_erased(self):
        self.driver.failing = {'ns0'}
        instance, claimed = self._claim(1)
        self.rt.give_up(self.context, claimed, instance.uuid, instance.uuid)
        self.assertEqual('quarantined', self._states()['ns0'])
        self.driver.erased = []
        # Another writer settled it (as an operator's tool might).
        record = self._record('ns0')
        db.vpmem_namespace_update(self.context, record.id,
                                  {'state': 'free', 'reason': None,
                                   'instance_uuid': None})
        self.assertEqual({}, self.rt.retry_erases(self.context, ['ns0']))
        self.assertEqual([], self.driver.erased)
        self.assertEqual('free', self._states()['ns0'])

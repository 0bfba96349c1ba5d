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

"""Candidate hosts: a constant number of queries, spread over the equal."""

import collections
import random
from unittest import mock
import uuid

from oslo_utils import timeutils
import sqlalchemy as sa

from nova import context as nova_context
from nova.db import api as db
from nova import objects
from nova.scheduler import selection
from nova import test

RC = 'CUSTOM_PMEM_NAMESPACE_SMALL'


def _candidate(host, free):
    return selection.Selection(host=host, nodename=host,
                               compute_node_uuid=host, allocations={},
                               free={RC: free})


class TestOrder(test.NoDBTestCase):

    def test_most_free_first_without_subset(self):
        candidates = [_candidate('a', 1), _candidate('b', 5),
                      _candidate('c', 3)]
        ordered = selection.order(candidates, {RC: 1}, subset_size=1)
        self.assertEqual(['b', 'c', 'a'], [c.host for c in ordered])

    def test_ties_are_shuffled_above_one(self):
        candidates = [_candidate('h%d' % i, 4) for i in range(10)]
        firsts = collections.Counter(
            selection.order(candidates, {RC: 1}, subset_size=2,
                            rng=random.Random(seed))[0].host
            for seed in range(200))
        # Not always the same host name (the old tie-break).
        self.assertGreater(len(firsts), 5)

    def test_ties_by_name_with_one(self):
        candidates = [_candidate(h, 4) for h in ('c', 'a', 'b')]
        for seed in range(20):
            self.assertEqual(['a', 'b', 'c'], [
                c.host for c in selection.order(
                    candidates, {RC: 1}, subset_size=1,
                    rng=random.Random(seed))])

    def test_subset_draws_among_the_best(self):
        candidates = [_candidate('best', 9), _candidate('second', 8),
                      _candidate('third', 7), _candidate('worst', 1)]
        firsts = collections.Counter(
            selection.order(candidates, {RC: 1}, subset_size=3,
                            rng=random.Random(seed))[0].host
            for seed in range(300))
        self.assertEqual({'best', 'second', 'third'}, set(firsts))
        # The rest stay best first, for the retries.
        ordered = selection.order(candidates, {RC: 1}, subset_size=3,
                                  rng=random.Random(1))
        rest = [c for c in candidates if c.host != ordered[0].host]
        self.assertEqual([c.host for c in rest],
                         [c.host for c in ordered[1:]])

    def test_subset_size_option(self):
        self.flags(host_subset_size=1, group='filter_scheduler')
        candidates = [_candidate('a', 2), _candidate('b', 1)]
        for _ in range(20):
            self.assertEqual('a', selection.order(candidates, {RC: 1})[0].host)


class TestGetCandidates(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.flags(host_subset_size=1, group='filter_scheduler')

    def _hosts(self, count, start=0):
        for i in range(start, start + count):
            host = 'host-%02d' % i
            objects.Service(self.context, host=host, binary='nova-compute',
                            topic='compute',
                            last_seen_up=timeutils.utcnow()).create()
            objects.ComputeNode(self.context, uuid=str(uuid.uuid4()),
                                host=host, hypervisor_hostname=host).create()

    def _client(self):
        nodes = objects.ComputeNodeList.get_all(self.context)
        reqs = [{'allocations': {n.uuid: {'resources': {RC: 1}}}}
                for n in nodes]
        summaries = {n.uuid: {'resources': {RC: {'capacity': 4, 'used': 0}}}
                     for n in nodes}
        client = mock.Mock()
        client.get_allocation_candidates.return_value = (reqs, summaries)
        return client

    def _statements(self, **kwargs):
        statements = []

        def count(conn, cursor, statement, *args):
            if statement != 'BEGIN':  # (SQLite's, one per transaction)
                statements.append(statement)

        client = self._client()
        engine = db.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', count)
        try:
            candidates = selection.get_candidates(self.context, client,
                                                  {RC: 1}, **kwargs)
        finally:
            sa.event.remove(engine, 'before_cursor_execute', count)
        self.statements = statements
        return len(statements), candidates

    def test_queries_do_not_grow_with_hosts(self):
        self._hosts(3)
        few, candidates = self._statements()
        self.assertEqual(3, len(candidates))
        self._hosts(17, start=3)
        many, candidates = self._statements()
        self.assertEqual(20, len(candidates))
        self.assertEqual(few, many)
        # One query for the nodes, one for their services.
        self.assertEqual(2, many, self.statements)

    def test_records_travel_with_the_selection(self):
        self._hosts(2)
        _, candidates = self._statements(requested_host='host-01')
        [chosen] = candidates
        self.assertEqual('host-01', chosen.host)
        self.assertEqual('host-01', chosen.service.host)
        self.assertEqual(chosen.compute_node_uuid, chosen.compute_node.uuid)

    def test_down_disabled_and_ignored_hosts_are_dropped(self):
        self._hosts(4)
        disabled = objects.Service.get_by_compute_host(self.context,
                                                       'host-01')
        disabled.disabled = True
        disabled.save()
        down = objects.Service.get_by_compute_host(self.context, 'host-02')
        down.forced_down = True
        down.save()
        _, candidates = self._statements(ignore_hosts=['host-03'])
        self.assertEqual(['host-00'], [c.host for c in candidates])

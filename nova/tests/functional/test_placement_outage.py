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

"""Placement failing at each of its calls in a live migration.

The real placement service answers everything but the injected faults:
a refused connection or a 503, once or until placement is "back". Each
placement call of the flow is hit in turn: the conductor moving the
source allocations to the migration, the conductor claiming the
destination, the destination reading its claim, the source dropping the
migration's allocations after the move, and the source giving the
instance its allocations back after a failed move. A refusal before the
move starts reaches the user as 503 "Placement unreachable" with nothing
changed; a write after it is retried, then kept as pending work and made
when placement answers. Once it does, placement, the trackers and the
database agree again and the server moves and is deleted as usual.
"""

import re
import time

import fixtures
from keystoneauth1 import exceptions as ks_exc
import requests

from nova.compute import placement_work
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_namespace_lifecycle as lc

A, B = lc.A, lc.B
MiB = lc.MiB
UUID = '[0-9a-f-]{36}'


class PlacementFault(fixtures.Fixture):
    """Make placement requests fail.

    ``arm(method, path, mode, outage, skip)``: after ``skip`` matching
    requests, the next matching one fails, ``mode`` 'refused' (the
    connection) or '503'; with ``outage`` every request after it fails
    too, whatever it is, until ``heal()``: placement went down there.
    """

    def __init__(self):
        super().__init__()
        self.rule = None
        self.failed = []

    def arm(self, method, path, mode, outage=False, skip=0):
        self.rule = {'method': method, 'path': re.compile(path),
                     'mode': mode, 'outage': outage, 'skip': skip,
                     'down': False, 'done': False}

    def heal(self):
        self.rule = None

    def _hit(self, method, url):
        rule = self.rule
        if rule is None or rule['done']:
            return None
        if not rule['down']:
            if method != rule['method'] or not rule['path'].search(url):
                return None
            if rule['skip']:
                rule['skip'] -= 1
                return None
            rule['down'] = rule['outage']
            rule['done'] = not rule['outage']
        self.failed.append((method, url))
        return rule['mode']

    def _setUp(self):
        from keystoneauth1 import adapter
        real = adapter.Adapter.request

        def request(adapter_self, url, method, **kwargs):
            mode = self._hit(method, url)
            if mode == 'refused':
                raise ks_exc.ConnectFailure('injected: connection refused')
            if mode == '503':
                resp = requests.Response()
                resp.status_code = 503
                resp.headers['Content-Type'] = 'application/json'
                resp._content = (b'{"errors": [{"status": 503, "detail": '
                                 b'"injected: service unavailable"}]}')
                return resp
            return real(adapter_self, url, method, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'keystoneauth1.adapter.Adapter.request', request))


# point -> (method, path, skip, where it falls in the flow)
POINTS = {
    # The conductor reads the instance's allocations once, then moves
    # them to the migration and claims the destination in one write; the
    # destination gets that claim with the request, without a read.
    'read_source': ('GET', r'/allocations/' + UUID + '$', 0, 'before'),
    'move_and_claim': ('POST', r'/allocations$', 0, 'before'),
    'drop_migration': ('DELETE', r'/allocations/' + UUID + '$', 0, 'after'),
    'give_source_back': ('POST', r'/allocations$', 1, 'rollback'),
}
MODES = ('refused', '503')


class TestPlacementOutage(lc.LifecycleTestBase):

    def setUp(self):
        super().setUp()
        self.fault = self.useFixture(PlacementFault())

    def _case(self, point, mode, outage):
        method, path, skip, when = POINTS[point]
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        if when == 'rollback':
            base.emulator.get_host(A).inject_migration_error(
                after_bytes=2 * MiB)
        self.fault.arm(method, path, mode, outage=outage, skip=skip)
        if when == 'before':
            err = self.assertRaises(exception.PlacementUnavailable,
                                    self.live_migrate, server, host=B,
                                    force=True)
            self.assertIn('Placement unreachable', err.format_message())
            self.assertEqual(503, err.code)
            migration = objects.MigrationList.get_by_filters(
                self.context, {'instance_uuid': server.uuid})[0]
            self.wait_for_status(migration, 'error')
        else:
            migration = self.live_migrate(server, host=B, force=True)
            self.wait_for_migration(
                migration, ('completed',) if when == 'after' else
                ('failed',))
        # The source drops the migration's allocations at the end of its
        # background erase, which starts after the migration reads
        # completed: wait for that DELETE to meet the fault, then for the
        # erase (and the DELETE's retries, or the work it keeps) to end.
        deadline = time.monotonic() + self.TIMEOUT
        while not self.fault.failed and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertTrue(self.fault.failed, 'the fault was never hit')
        self.assertTrue(self.manager(A).rt.wait_for_background_erases(
            self.TIMEOUT))
        expected_host = B if when == 'after' else A
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(expected_host, moved.host)
        self.assertEqual([expected_host], self.domain_hosts(server.uuid))
        pending = [w for host in self.computes
                   for w in placement_work.pending(self.context, host)]
        # A write after the move started is kept while placement stays
        # away (a single refusal is absorbed by the retries).
        kept = outage and point not in ('read_source', 'move_and_claim')
        self.assertEqual(kept, bool(pending), pending)
        self.assertTrue(all(w['host'] == A for w in pending), pending)
        # Placement is back; the periodic task makes what was kept.
        self.fault.heal()
        for host in self.computes:
            placement_work.settle(self.context, self.reportclient, host,
                                  force=True)
        self.assertEqual([], [w for host in self.computes
                              for w in placement_work.pending(self.context,
                                                              host)])
        self._assert_consistent_after(server, migration, expected_host)

    def _assert_consistent_after(self, server, migration, host):
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        node = self.node(host)
        self.assertEqual({node.uuid}, set(self.consumer_allocations(
            server.uuid)))
        for name in self.computes:
            self.assert_consistent(name)
        rc, out = self.audit()
        self.assertEqual(0, rc, out)
        moved = self.api.get(self.context, server.uuid)
        other = A if host == B else B
        again = self.live_migrate(moved, host=other, force=True)
        self.wait_for_status(again, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.api.delete(self.context, moved)
        self.wait_for_deleted(server.uuid)
        for name in self.computes:
            self.assert_free_and_erased(name)


def _make_test(point, mode, outage):
    def test(self):
        self._case(point, mode, outage)
    test.__name__ = 'test_%s_%s_%s' % (point, mode.replace('503', 'http503'),
                                       'outage' if outage else 'once')
    return test


for _point in POINTS:
    for _mode in MODES:
        for _outage in (False, True):
            _test = _make_test(_point, _mode, _outage)
            setattr(TestPlacementOutage, _test.__name__, _test)

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

"""The source's erase after a live migration runs off the user's wait.

Real placement, the DB layer, the compute API in-process, fake:// RPC and
emulated hosts whose namespaces are files. The source's erase is held on
an event: meanwhile the API shows the server ACTIVE on the destination
and the migration completed, while the source's namespaces are
``erasing``, keep the tenant's bytes, stay counted in placement and
cannot be claimed. Then the erase ends (free and zero), fails
(quarantined, the migration in error until a retry erases it) or is cut
off by a crash of the source's service (the restarted service
quarantines, retries and frees them, and the migration's allocations
go).
"""

import logging
import threading

import fixtures

from nova.compute import vm_states
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_live_migration_async as api_base
from nova.tests.functional import test_namespace_lifecycle as lc_base

RC = 'CUSTOM_PMEM_NAMESPACE_SMALL'
A, B = 'compute-a', 'compute-b'
NAMES = ('ns0', 'ns1')
PATTERN = b'tenant-A data  '


class EraseGate(fixtures.Fixture):
    """Hold every erase of one host's driver until :meth:`open`.

    ``entered`` is set once an erase waits at the gate. With ``crash``,
    the erase does not run when the gate opens: its thread unwinds as a
    killed service's would.
    """

    def __init__(self, driver, crash=False):
        super().__init__()
        self.driver = driver
        self.crash = crash
        self.entered = threading.Event()
        self._open = threading.Event()

    def open(self):
        self._open.set()

    def _setUp(self):
        real = self.driver.erase_vpmems

        def gated(context, resources):
            self.entered.set()
            if not self._open.wait(60):
                raise AssertionError('the erase gate was never opened')
            if self.crash:
                raise base.ServiceCrashed('nova-compute killed mid-erase')
            return real(context, resources)

        self.useFixture(fixtures.MockPatchObject(
            self.driver, 'erase_vpmems', side_effect=gated))
        # A test that fails midway must not leave a worker waiting.
        self.addCleanup(self._open.set)


class TestEraseOffCriticalPath(api_base.AsyncLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova.compute', level=logging.INFO, nuke_handlers=False))

    # -- helpers ----------------------------------------------------------

    def migrate_with_erase_held(self, crash=False):
        """A server moved from A to B; A's erase waits at a gate."""
        server = self.boot_on(A)
        self.fill_namespaces(server, PATTERN)
        gate = self.useFixture(EraseGate(self.manager(A).driver,
                                         crash=crash))
        migration = self.live_migrate(server, host=B, force=True)
        migration = self.wait_for_status(migration, 'completed')
        self.assertTrue(gate.entered.wait(self.TIMEOUT))
        return server, migration, gate

    def api_server(self, server):
        resp = self.request('GET', '/servers/%s' % server.uuid, '2.100')
        self.assertEqual(200, resp.status_int, resp.text)
        return resp.json['server']

    def api_migration(self, migration):
        resp = self.request('GET', '/os-migrations?instance_uuid=%s'
                            % migration.instance_uuid, '2.100')
        self.assertEqual(200, resp.status_int, resp.text)
        [shown] = [m for m in resp.json['migrations']
                   if m['uuid'] == migration.uuid]
        return shown

    def record(self, host, name):
        return objects.VPMEMNamespaceList.get_by_filters(
            self.context, {'host': host, 'name': name})[0]

    def states(self, host):
        return {name: self.record(host, name).state for name in NAMES}

    def holds_pattern(self, host, name):
        with open(self.namespace_path(host, name), 'rb') as f:
            return f.read(len(PATTERN)) == PATTERN

    def hold(self, host):
        return self.reportclient.get_quarantine_hold(
            self.context, self.node(host).uuid).get(RC, 0)

    def assert_done_while_erasing(self, server, migration):
        """What the user sees is final; the source is still erasing."""
        shown = self.api_server(server)
        self.assertEqual(('ACTIVE', None, B),
                         (shown['status'], shown['OS-EXT-STS:task_state'],
                          shown['OS-EXT-SRV-ATTR:host']))
        self.assertEqual('completed', self.api_migration(migration)['status'])
        self.assertEqual([B], self.domain_hosts(server.uuid))
        self.assertEqual({'ns0': 'erasing', 'ns1': 'erasing'},
                         self.states(A))
        for name in NAMES:
            self.assertTrue(self.holds_pattern(A, name))
        # The migration still counts them in placement, so the scheduler
        # offers them to nobody; the tracker hands out none of them.
        self.assertEqual({self.node(A).uuid: {
            'VCPU': 1, 'MEMORY_MB': self.FLAVOR_MEMORY_MB, RC: 2}},
            self.consumer_allocations(migration.uuid))
        self.assertEqual(set(), self.manager(A).rt.free_resources(A, RC))

    # -- scenarios --------------------------------------------------------

    def test_active_and_completed_while_the_source_erases(self):
        server, migration, gate = self.migrate_with_erase_held()
        self.assert_done_while_erasing(server, migration)
        # A new server needing two namespaces finds no room: B's are the
        # moved server's, A's are still being erased.
        late = self.boot(self.flavor, name='late', expect=vm_states.ERROR)
        self.assertIn('No valid host', late.fault.message)
        self.assertEqual({'ns0': 'erasing', 'ns1': 'erasing'},
                         self.states(A))

        gate.open()
        self.assertTrue(self.manager(A).rt.wait_for_background_erases(
            self.TIMEOUT))
        self.assertEqual({'ns0': 'free', 'ns1': 'free'}, self.states(A))
        self.assert_free_and_erased(A)
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual('completed', self.api_migration(migration)['status'])
        # The times a benchmark puts side by side.
        self.assertIn('Live migration %s of %s to %s completed '
                      % (migration.uuid, server.uuid, B), self.log.output)
        self.assertIn('s after it was requested; source namespaces: '
                      'erasing in the background', self.log.output)
        self.assertIn('erase took', self.log.output)
        # Free again: the next server gets them.
        again = self.boot(self.flavor, name='again')
        self.assertEqual(A, again.host)

    def test_erase_failure_in_the_background_quarantines(self):
        server = self.boot_on(A)
        self.fill_namespaces(server, PATTERN)
        fault = self.useFixture(lc_base.EraseFault(
            self.manager(A).driver, ['ns1']))
        migration = self.live_migrate(server, host=B, force=True)
        # Completed first; the failed erase then turns it to error.
        self.wait_for_migration(migration, ('completed', 'error'))
        self.assertTrue(self.manager(A).rt.wait_for_background_erases(
            self.TIMEOUT))
        self.wait_for_status(migration, 'error')
        self.assertEqual('ACTIVE', self.api_server(server)['status'])
        self.run_periodic(A)
        self.assertEqual({'ns0': 'free', 'ns1': 'quarantined'},
                         self.states(A))
        record = self.record(A, 'ns1')
        self.assertIn('injected', record.reason)
        self.assertEqual((migration.uuid, 'completed'),
                         (record.migration_uuid,
                          record.migration_final_status))
        self.assertTrue(self.holds_pattern(A, 'ns1'))
        self.assertTrue(self.namespace_is_zero(A, 'ns0'))
        # The migration let go; the quarantine consumer counts ns1.
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual(1, self.hold(A))
        self.assertEqual(1, self.placement_usage(A))

        fault.heal()
        self.assertEqual({'ns1': True}, self.manager(A).rt.retry_erases(
            self.context, names=['ns1']))
        self.assertEqual({'ns0': 'free', 'ns1': 'free'}, self.states(A))
        self.assertTrue(self.namespace_is_zero(A, 'ns1'))
        self.assertEqual('completed', self.wait_for_status(
            migration, 'completed').status)
        self.assert_free_and_erased(A)
        self.assertEqual(0, self.hold(A))

    def test_crash_mid_erase_is_recovered_by_the_reconcile(self):
        server, migration, gate = self.migrate_with_erase_held(crash=True)
        self.assert_done_while_erasing(server, migration)
        crashed = self.crash_compute(A)
        # The killed service's erase thread unwinds without a write.
        gate.open()
        self.assertTrue(crashed.manager.rt.wait_for_background_erases(
            self.TIMEOUT))
        self.assertEqual({'ns0': 'erasing', 'ns1': 'erasing'},
                         self.states(A))
        for name in NAMES:
            self.assertTrue(self.holds_pattern(A, name))

        # The restarted service finds erases nobody runs: quarantined,
        # retried at once, verified and free; the migration's source
        # allocations go, as its worker would have dropped them.
        self.start_compute(A)
        self.assertIn('was being erased when the service stopped',
                      self.log.output)
        self.assertIn('Dropping the source allocations of live migration '
                      '%s' % migration.uuid, self.log.output)
        self.assertEqual({'ns0': 'free', 'ns1': 'free'}, self.states(A))
        self.assert_free_and_erased(A)
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual(0, self.hold(A))
        self.assertEqual('completed', self.api_migration(migration)['status'])
        shown = self.api_server(server)
        self.assertEqual(('ACTIVE', B), (shown['status'],
                                         shown['OS-EXT-SRV-ATTR:host']))

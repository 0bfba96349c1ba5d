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

"""A seeded soak: hundreds of live migrations among four hosts, with faults.

Four servers, each with a namespace holding its own tenant's pattern,
move at random among four emulated hosts (two namespaces each). Most
migrations meet a fault chosen by the seed: a hypervisor job error, an
RPC call that times out, a placement request refused, an erase that fails
(on the source after a move, on the destination after a rollback), or a
nova-compute killed at a random point of the move and started again. After
each move the faults are cleared and the sweeps and retries run; every
few moves, and at the end, the invariants are checked: each server runs
on exactly one host, ACTIVE, with its data; placement, the trackers and
the database agree on every host; every namespace not held reads zeros;
``nova-manage vpmem audit`` is clean. The counts are printed.

``NOVA_SOAK_SEED`` and ``NOVA_SOAK_MIGRATIONS`` change the run (CI runs the
defaults).
"""

import collections
import hashlib
import logging
import os
import random
import sys
import time

import fixtures
from oslo_messaging import exceptions as messaging_exc
from testtools import content

from nova.compute import placement_work
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_move_recovery as recovery
from nova.tests.functional import test_namespace_lifecycle as lc
from nova.tests.functional import test_placement_outage as outage
from nova.virt.libvirt import migration as lm

MiB = lc.MiB
# Seconds the whole soak may take (about 3 minutes here).
SOAK_TIMEOUT = 900
HOSTS = ['compute-%d' % i for i in range(4)]
FAULTS = {
    # fault: weight
    'none': 6,
    'job_error': 2,
    'rpc_timeout': 1,
    'placement': 2,
    'erase_source': 1,
    'erase_destination': 1,
    'kill_source': 2,
    'kill_destination': 2,
}
KILL_POINTS = {
    'source': ('_do_live_migration', '_complete_live_migration',
               '_release_source', 'copy', 'erase'),
    'destination': ('check_can_live_migrate_destination',
                    'post_live_migration_at_destination', 'copy'),
}


def _digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class TestSoak(recovery.RecoveryTestBase):

    COMPUTES = {host: ['SMALL:ns0|ns1'] for host in HOSTS}
    TIMEOUT = 90

    def setUp(self):
        super().setUp()
        # Hundreds of moves take minutes, more than a test's usual limit
        # ($OS_TEST_TIMEOUT): this one replaces it.
        self.useFixture(fixtures.Timeout(SOAK_TIMEOUT, gentle=True))
        # Hundreds of moves at DEBUG make a log larger than a test result
        # may carry; warnings and errors tell what went wrong.
        self.useFixture(fixtures.FakeLogger(
            level=logging.WARNING,
            format='%(asctime)s %(threadName)s %(name)s %(message)s'))
        self.seed = int(os.environ.get('NOVA_SOAK_SEED', '20261205'))
        self.migrations = int(os.environ.get('NOVA_SOAK_MIGRATIONS', '200'))
        self.rng = random.Random(self.seed)
        self.counts = collections.Counter()
        self.placement_fault = self.useFixture(outage.PlacementFault())
        self.flags(migration_stuck_timeout=1, group='compute')
        # Faults of the current move, cleared (or disarmed if they never
        # fired) before the next one.
        self.erase_faults = []
        self.armed = []

    # -- the world --------------------------------------------------------

    def _boot_servers(self):
        servers = {}
        for index, host in enumerate(HOSTS):
            server = self.boot_as(self.context, host, name='soak%d' % index)
            path = server.resources[0].metadata.devpath
            with open(path, 'r+b') as f:
                f.write(b'tenant %d ' % index * (MiB // 9))
            servers[server.uuid] = _digest(path)
        return servers

    def _restart_dead(self):
        for host in HOSTS:
            if host not in self.computes:
                self.start_compute(host)
                self.counts['restarts'] += 1

    def sweep(self):
        self._restart_dead()
        super().sweep()

    def _quiesce(self):
        """Clear the faults; let retries and recovery finish their work."""
        for token in self.armed:
            token['armed'] = False
        for fault in self.erase_faults:
            fault.heal()
        self.armed, self.erase_faults = [], []
        self.placement_fault.heal()
        self._restart_dead()
        for host in HOSTS:
            # The resource update (every minute in a real cloud) finds
            # what no record holds any more; the retries then erase it.
            self.run_periodic(host)
            rt = self.manager(host).rt
            quarantined = [name for name, state in
                           rt.namespace_states(host).items()
                           if state == 'quarantined']
            if quarantined:
                rt.retry_erases(self.context, names=quarantined)
            placement_work.settle(self.context, self.reportclient, host,
                                  force=True)

    # -- faults -----------------------------------------------------------

    def _inject(self, fault, source, dest):
        rng = self.rng
        if fault == 'job_error':
            base.emulator.get_host(source).inject_migration_error(
                after_bytes=rng.randrange(1, 20) * MiB)
        elif fault == 'rpc_timeout':
            manager = self.manager(dest)
            real = manager.pre_live_migration
            token = self._token()

            def slow(*args, **kwargs):
                if token['armed']:
                    token['armed'] = False
                    time.sleep(2.5)  # past rpc_response_timeout
                return real(*args, **kwargs)

            self.useFixture(base._AttributeFixture(
                manager, 'pre_live_migration', slow))
        elif fault == 'placement':
            point = rng.choice(sorted(outage.POINTS))
            method, path, skip, _when = outage.POINTS[point]
            self.placement_fault.arm(method, path,
                                     rng.choice(outage.MODES), skip=skip)
        elif fault == 'erase_source':
            self.erase_faults.append(self.useFixture(lc.EraseFault(
                self.manager(source).driver, ['ns0', 'ns1'])))
        elif fault == 'erase_destination':
            self.erase_faults.append(self.useFixture(lc.EraseFault(
                self.manager(dest).driver, ['ns0', 'ns1'])))
            base.emulator.get_host(source).inject_migration_error(
                after_bytes=rng.randrange(17, 19) * MiB)
        elif fault.startswith('kill_'):
            side = fault[len('kill_'):]
            host = source if side == 'source' else dest
            self._arm_kill(host, side, rng.choice(KILL_POINTS[side]))

    def _token(self):
        token = {'armed': True}
        self.armed.append(token)
        return token

    def _arm_kill(self, host, side, point):
        manager = self.manager(host)
        token = self._token()
        self.counts['kill %s at %s' % (side, point)] += 1

        def armed(*args, **kwargs):
            return token['armed']

        def progressed(migration, progress):
            return token['armed'] and (
                progress.get('memory_processed') or 0) > 2 * MiB

        if point == 'copy':
            # The source's monitor reports progress; a destination dies
            # meanwhile, the source going on.
            self.crash_when(host, lm, 'record_progress', when=progressed,
                            unwind=side == 'source')
        elif point == 'erase':
            self.crash_when(host, manager.rt.namespaces, '_erase',
                            when=armed)
        else:
            self.crash_when(host, manager, point, when=armed,
                            after=point == 'check_can_live_migrate_'
                                           'destination')

    # -- invariants -------------------------------------------------------

    def _check_invariants(self, servers):
        self._quiesce()
        held = collections.defaultdict(set)
        for uuid, digest in servers.items():
            instance = self.wait_for_state(uuid, vm_states.ACTIVE)
            self.assertIsNone(instance.migration_context)
            self.assertEqual([instance.host], self.domain_hosts(uuid))
            resource = instance.resources[0]
            self.assertEqual(digest, _digest(resource.metadata.devpath),
                             'server %s lost its data' % uuid)
            held[instance.host].add(resource.identifier)
        for host in HOSTS:
            self.run_periodic(host)
            self.assert_consistent(host)
            for name, state in self.manager(host).rt.namespace_states(
                    host).items():
                if name in held[host]:
                    self.assertEqual('assigned', state, (host, name))
                else:
                    self.assertEqual('free', state, (host, name))
                    self.assertTrue(self.namespace_is_zero(host, name),
                                    '%s:%s holds data' % (host, name))
        rc, out = self.audit()
        self.assertEqual(0, rc, out)
        self.counts['invariant checks'] += 1

    # -- the run ----------------------------------------------------------

    def test_soak(self):
        started = time.monotonic()
        servers = self._boot_servers()
        faults = sorted(FAULTS)
        weights = [FAULTS[f] for f in faults]
        for number in range(1, self.migrations + 1):
            uuid = self.rng.choice(sorted(servers))
            instance = self.api.get(self.context, uuid)
            candidates = [h for h in HOSTS if h != instance.host and
                          self.placement_usage(h) < 2]
            dest = self.rng.choice(candidates)
            fault = self.rng.choices(faults, weights)[0]
            self.counts['fault ' + fault] += 1
            self._inject(fault, instance.host, dest)
            try:
                migration = self.live_migrate(instance, host=dest,
                                              force=True)
            except (exception.NovaException,
                    messaging_exc.MessagingTimeout):
                self.counts['refused at the API'] += 1
                migration = objects.MigrationList.get_by_filters(
                    self.context, {'instance_uuid': uuid})[0]
            ended = self.wait_until_ended(migration)
            self.counts['migration ' + ended.status] += 1
            self._quiesce()
            if number % 25 == 0:
                self._check_invariants(servers)
        self._check_invariants(servers)
        report = ['soak: seed %d, %d migrations among %d hosts in %.0f s'
                  % (self.seed, self.migrations, len(HOSTS),
                     time.monotonic() - started)]
        report += ['  %-28s %d' % (name, count)
                   for name, count in sorted(self.counts.items())]
        sys.__stdout__.write('\n'.join(report) + '\n')
        self.addDetail('soak counts',
                       content.text_content('\n'.join(report)))
        self.assertEqual(self.migrations, sum(
            n for key, n in self.counts.items()
            if key.startswith('migration ')))

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

"""The pre-flight estimate of a live migration, end to end.

Emulated hosts whose guests dirty memory at a set rate, the real
placement and DB, the compute API over WSGI for what the operator reads
(the ``live_migration_preflight`` event at microversion 2.84). The
accuracy cases compare the estimate with the emulated copy's own elapsed
time; set ``NOVA_PREFLIGHT_TABLE=<file>`` to collect their numbers (the
table in doc/source/admin/live-migration.rst comes from such a run).
"""

import dataclasses
import json
import os
import time

import fixtures

from nova.compute import vm_states
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_live_migration as tlm
from nova.virt.libvirt import preflight

MiB = 1 << 20
ADMIN = 'admin:adminproj'
EVENT = 'live_migration_preflight'


class PreflightTestBase(tlm.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.api_app = self.useFixture(base.InProcessAPI(self))

    def configure(self, **opts):
        """Set [libvirt] options on both computes (restarted)."""
        self.flags(group='libvirt', **opts)
        for host in list(self.computes):
            self.restart_compute(host)
        self.estimates = []
        self.results = []
        driver = self.manager('compute-a').driver
        real_migrate = driver.live_migration
        real_estimate = preflight.estimate

        def estimate(inputs):
            result = real_estimate(inputs)
            self.estimates.append(result)
            return result

        def migrate(*args, **kwargs):
            result = real_migrate(*args, **kwargs)
            self.results.append(result)
            return result

        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.preflight.estimate', estimate))
        driver.live_migration = migrate

    def request(self, method, path, version='2.84', body=None):
        return self.api_app.request(method, path, ADMIN, version, body)

    def migrate_via_api(self, server, dest='compute-b'):
        """os-migrateLive; returns (request id, Migration)."""
        resp = self.request('POST', '/servers/%s/action' % server.uuid,
                            body={'os-migrateLive': {
                                'host': dest, 'block_migration': 'auto'}})
        self.assertEqual(202, resp.status_int, resp.text)
        request_id = resp.headers['x-openstack-request-id']
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            found = objects.MigrationList.get_by_filters(
                self.context, {'instance_uuid': server.uuid})
            if found:
                return request_id, found[0]
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)

    def preflight_event(self, server, request_id):
        resp = self.request('GET', '/servers/%s/os-instance-actions/%s' % (
            server.uuid, request_id))
        self.assertEqual(200, resp.status_int, resp.text)
        events = [e for e in resp.json['instanceAction']['events']
                  if e['event'] == EVENT]
        self.assertEqual(1, len(events), events)
        return events[0]


class TestPreflight(PreflightTestBase):

    def test_quiet_guest_is_predicted_to_converge_and_does(self):
        # The default mode (warn); an assumed link slow enough that the
        # guest does not fit the first downtime, so its rate is measured.
        self.configure(live_migration_preflight_link_speed=8)
        measure = self.useFixture(fixtures.MockPatchObject(
            type(self.manager('compute-a').driver), '_measure_dirty_rate',
            autospec=True)).mock
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'quiet')
        request_id, migration = self.migrate_via_api(server)
        self.wait_for_status(migration, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual('compute-b', moved.host)
        for src, dst in zip(server.resources, moved.resources, strict=True):
            self.assertEqual(digests[src.metadata.devpath],
                             tlm._digest(dst.metadata.devpath))
        [estimate] = self.estimates
        self.assertTrue(estimate.converges)
        self.assertEqual(1, estimate.iterations)
        self.assertEqual(0, estimate.inputs.dirty_rate)
        # Unlimited bandwidth: the assumed link speed, said so.
        self.assertTrue(estimate.inputs.bandwidth_assumed)
        # Warn mode: no second spent sampling before the copy; the
        # copy's own dirty rate (it ended after its first pass).
        measure.assert_not_called()
        event = self.preflight_event(server, request_id)
        self.assertEqual('Success', event['result'])
        self.assertIn('(after the copy, from its dirty rate)',
                      event['details'])
        self.assertIn('predicted to converge in 1 passes', event['details'])
        self.assertIn('guest dirtying 0.0 MiB/s', event['details'])
        self.assertIn('(assumed link speed)', event['details'])

    def test_small_guest_is_not_sampled(self):
        # All of it fits the downtime the steps allow within its budget,
        # at the assumed link speed: it converges whatever it dirties, so
        # no second is spent measuring.
        self.configure(live_migration_preflight='refuse')
        measure = self.useFixture(fixtures.MockPatchObject(
            type(self.manager('compute-a').driver), '_measure_dirty_rate',
            autospec=True)).mock
        server = self.boot_on('compute-a')
        request_id, migration = self.migrate_via_api(server)
        self.wait_for_status(migration, 'completed')
        self.assertEqual('compute-b',
                         self.wait_for_state(server.uuid,
                                             vm_states.ACTIVE).host)
        measure.assert_not_called()
        self.assertEqual([], self.estimates)     # no simulation either
        event = self.preflight_event(server, request_id)
        self.assertEqual('Success', event['result'])
        self.assertIn('predicted to converge within', event['details'])
        self.assertIn('whatever the guest writes', event['details'])
        self.assertIn('guest dirtying not measured (not needed)',
                      event['details'])

    def test_fast_dirtying_guest_is_refused_and_nothing_changes(self):
        self.configure(live_migration_preflight='refuse',
                       live_migration_bandwidth=1)
        server = self.boot_on('compute-a')
        host = base.emulator.get_host('compute-a')
        # ~3 MiB/s of writes into the namespaces, over a 1 MiB/s link.
        workload = host.set_workload(server.uuid,
                                     dirty_pages_per_second=768)
        before = self.snapshot()
        copies = self.record_copies()
        request_id, migration = self.migrate_via_api(server)
        migration = self.wait_for_status(migration, 'failed')
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        # Refused before any byte was copied.
        self.assertEqual([], copies)
        self.assertEqual([], self.results)
        [estimate] = self.estimates
        self.assertFalse(estimate.converges)
        self.assertGreaterEqual(estimate.inputs.dirty_rate, 1 * MiB)
        # Nothing changed: the guest runs here with its data, the
        # destination has nothing, placement and trackers as before.
        self.assert_source_intact(server, {})
        for resource in server.resources:
            ok, bad = workload.verify(resource.metadata.devpath)
            self.assertTrue(ok, bad)
        self.assertTrue(workload.running)
        self.assert_free_and_erased('compute-b')
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual(before, self.snapshot())
        # The user-visible error carries the numbers.
        fault = objects.InstanceFault.get_latest_for_instance(
            self.context, server.uuid)
        for text in ('refused by [libvirt]live_migration_preflight',
                     'predicted NOT to converge: dirty rate',
                     '>= bandwidth 1.0 MiB/s',
                     'auto-converge not permitted'):
            self.assertIn(text, fault.message)
        event = self.preflight_event(server, request_id)
        self.assertEqual('Error', event['result'])
        self.assertIn('predicted NOT to converge', event['details'])
        resp = self.request('GET', '/servers/%s/os-instance-actions/%s' % (
            server.uuid, request_id))
        [failed] = [e for e in resp.json['instanceAction']['events']
                    if e['event'] == 'compute_live_migration']
        self.assertIn('predicted NOT to converge', failed['details'])

    def test_warn_goes_on_into_the_timeout_action(self):
        # Predicted not to converge; warn lets it run, and the completion
        # timeout's force-complete pauses the guest to finish.
        # A budget (300 s/GiB: 7 s) past the second pass, whose dirty
        # rate warn mode estimates with.
        self.configure(live_migration_bandwidth=8,
                       live_migration_completion_timeout=300,
                       live_migration_timeout_action='force_complete')
        server = self.boot_on('compute-a')
        host = base.emulator.get_host('compute-a')
        # ~10 MiB/s of (modelled) RAM writes plus namespace writes, over
        # an 8 MiB/s link.
        workload = host.set_workload(server.uuid,
                                     dirty_pages_per_second=256,
                                     ram_dirty_pages_per_second=2560)
        request_id, migration = self.migrate_via_api(server)
        self.wait_for_status(migration, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual('compute-b', moved.host)
        for resource in moved.resources:
            ok, bad = workload.verify(resource.metadata.devpath)
            self.assertTrue(ok, bad)
        [estimate] = self.estimates
        self.assertFalse(estimate.converges, estimate.text)
        # The guest rewrites all its RAM within a pass: the rate read
        # there is its RAM over the pass, about the link's 8 MiB/s.
        self.assertGreaterEqual(estimate.inputs.dirty_rate, 6 * MiB)
        [result] = self.results
        self.assertTrue(result.paused_to_complete)
        event = self.preflight_event(server, request_id)
        self.assertEqual('Success', event['result'])
        self.assertIn('predicted NOT to converge', event['details'])
        self.assertIn('(during the copy, from its dirty rate)',
                      event['details'])

    def test_auto_converge_is_accounted_for(self):
        # One downtime (the steps far apart) so only the throttle helps.
        # Refuse mode samples the rate before the copy; warn mode's rate,
        # read during the copy, would already be throttled.
        self.configure(live_migration_preflight='refuse',
                       live_migration_bandwidth=16,
                       live_migration_permit_auto_converge=True,
                       live_migration_downtime=4000,
                       live_migration_downtime_steps=3,
                       live_migration_downtime_delay=1000)
        server = self.boot_on('compute-a')
        host = base.emulator.get_host('compute-a')
        # Modelled RAM writes at ~19 MiB/s (16 MiB of RAM: at most
        # 16 MiB/s of distinct pages) over a 16 MiB/s link.
        host.set_workload(server.uuid, ram_dirty_pages_per_second=4900)
        request_id, migration = self.migrate_via_api(server)
        self.wait_for_status(migration, 'completed')
        [estimate] = self.estimates
        self.assertTrue(estimate.converges, estimate.text)
        self.assertGreater(estimate.throttle, 0)
        self.assertGreaterEqual(estimate.inputs.dirty_rate,
                                estimate.inputs.bandwidth)
        # The same guest without auto-converge would not converge.
        self.assertFalse(preflight.estimate(dataclasses.replace(
            estimate.inputs, auto_converge=False)).converges)
        event = self.preflight_event(server, request_id)
        self.assertIn('auto-converge permitted', event['details'])
        self.assertIn('throttled by', event['details'])

    def test_off_measures_nothing(self):
        self.configure(live_migration_preflight='off')
        server = self.boot_on('compute-a')
        request_id, migration = self.migrate_via_api(server)
        self.wait_for_status(migration, 'completed')
        self.assertEqual([], self.estimates)
        resp = self.request('GET', '/servers/%s/os-instance-actions/%s' % (
            server.uuid, request_id))
        self.assertNotIn(EVENT, [e['event'] for e in
                                 resp.json['instanceAction']['events']])


# (guest RAM MiB, bandwidth MiB/s, dirty rate MiB/s, where it writes):
# 'ram' is modelled RAM, so size costs no disk; 'vpmem' writes real pages
# at random into the two 4 MiB namespaces (8 MiB more in every case),
# rewriting some: fewer distinct dirty pages than writes.
ACCURACY_CASES = [
    (32, 16, 0, 'ram'),
    (64, 32, 0, 'ram'),
    (128, 64, 0, 'ram'),
    (32, 16, 4, 'ram'),
    (64, 32, 8, 'ram'),
    (64, 32, 16, 'ram'),
    (128, 64, 16, 'ram'),
    (128, 64, 32, 'ram'),
    (96, 48, 24, 'ram'),
    (256, 128, 32, 'ram'),
    (16, 8, 2, 'vpmem'),
    (32, 16, 4, 'vpmem'),
]
TOLERANCE = 0.25


class TestPreflightAccuracy(PreflightTestBase):
    """Predicted vs actual copy time, within 25 %."""

    def _run_case(self, ram_mib, bandwidth_mib, dirty_mib, where):
        self.configure(live_migration_bandwidth=bandwidth_mib)
        flavor = self.create_flavor(name='acc-%d-%s' % (ram_mib, where),
                                    pmem='SMALL,SMALL', memory_mb=ram_mib)
        server = self.boot_on('compute-a', flavor=flavor)
        if dirty_mib:
            rate = {('ram_dirty_pages_per_second' if where == 'ram' else
                     'dirty_pages_per_second'): dirty_mib * 256}
            base.emulator.get_host('compute-a').set_workload(server.uuid,
                                                             **rate)
        migration = self.live_migrate(server, host='compute-b', force=True)
        self.wait_for_status(migration, 'completed')
        [estimate], [result] = self.estimates, self.results
        self.assertTrue(estimate.converges, estimate.text)
        actual = result.time_elapsed_ms / 1000.0
        error = (estimate.seconds - actual) / actual
        row = {'ram_mib': ram_mib, 'data_mib': estimate.inputs.data_bytes
               / MiB, 'bandwidth_mib': bandwidth_mib,
               'dirty_mib': dirty_mib, 'where': where,
               'measured_dirty_mib': estimate.inputs.dirty_rate / MiB,
               'predicted_s': round(estimate.seconds, 2),
               'predicted_passes': estimate.iterations,
               'actual_s': round(actual, 2),
               'actual_iterations': result.iterations,
               'error': round(error, 3)}
        table = os.environ.get('NOVA_PREFLIGHT_TABLE')
        if table:
            with open(table, 'a') as f:
                f.write(json.dumps(row) + '\n')
        self.assertLess(abs(error), TOLERANCE, row)


def _accuracy_test(case):
    def test(self):
        self._run_case(*case)
    test.__name__ = ('test_ram_%d_mib_at_%d_mib_s_dirty_%d_mib_s_%s' %
                     case)
    return test


for _case in ACCURACY_CASES:
    _test = _accuracy_test(_case)
    setattr(TestPreflightAccuracy, _test.__name__, _test)
del _case, _test

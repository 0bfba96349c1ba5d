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

"""Server power actions end to end: os-stop, os-start, reboot, pause,
unpause.

The REST API in-process (noauth2) in front of the conductor, two emulated
compute hosts with file-backed namespaces and the real placement. Each
test asks every owner of state afterwards: the database (vm_state,
task_state, power_state, resources), the hypervisor (the domain's state),
the resource tracker and placement (the namespaces stay the server's),
and the namespace files (the tenant's bytes).
"""

import threading
import time

import fixtures

from nova.compute import power_state
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import vm_states
from nova.compute import vpmem_audit
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_live_migration as lm_base

RC = lm_base.RC
SOURCE, DEST = 'compute-a', 'compute-b'
ADMIN = 'admin:adminproj'
OWNER = 'fake-user:fake-project'


def _digest(path):
    return lm_base._digest(path)


class PowerActionsTestBase(lm_base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.api_app = self.useFixture(base.InProcessAPI(self))
        # A guest that ignores ACPI must not make these tests wait long.
        self.flags(shutdown_timeout=5, group='compute')

    # -- the REST API ---------------------------------------------------

    def request(self, method, path, body=None, token=ADMIN,
                version='2.100'):
        return self.api_app.request(method, path, token, version, body)

    def act(self, server, body, status=202, **kwargs):
        resp = self.request('POST', '/servers/%s/action' % server.uuid,
                            body=body, **kwargs)
        self.assertEqual(status, resp.status_int, resp.text)
        if status == 202:
            self.assertEqual(b'', resp.body)
        return resp

    def refused(self, server, body, *words, **kwargs):
        """409 whose message names each of ``words``."""
        resp = self.act(server, body, status=409, **kwargs)
        message = resp.json['conflictingRequest']['message']
        for word in words:
            self.assertIn(word, message)
        return message

    def api_status(self, server):
        resp = self.request('GET', '/servers/%s' % server.uuid)
        self.assertEqual(200, resp.status_int, resp.text)
        return resp.json['server']['status']

    def action_names(self, server):
        resp = self.request('GET',
                            '/servers/%s/os-instance-actions' % server.uuid)
        return [a['action'] for a in resp.json['instanceActions']]

    # -- state ------------------------------------------------------------

    def domain(self, host, server):
        conn = base.emulator.open('emulated://%s' % host)
        return conn.lookupByUUIDString(server.uuid)

    def record_states_at(self, host, method):
        """Record the instance's DB states when the driver's ``method`` is
        called on ``host`` (the transitional state a user sees)."""
        driver = self.manager(host).driver
        real = getattr(driver, method)
        seen = []

        def recording(*args, **kwargs):
            instance = next(a for a in args + tuple(kwargs.values())
                            if isinstance(a, objects.Instance))
            current = objects.Instance.get_by_uuid(self.context,
                                                   instance.uuid)
            seen.append((current.vm_state, current.task_state))
            return real(*args, **kwargs)

        setattr(driver, method, recording)
        self.addCleanup(delattr, driver, method)
        return seen

    def block(self, host, method):
        """Hold the driver's ``method`` on ``host`` until the returned
        event is set."""
        driver = self.manager(host).driver
        real = getattr(driver, method)
        release = threading.Event()

        def blocked(*args, **kwargs):
            release.wait(self.TIMEOUT)
            return real(*args, **kwargs)

        setattr(driver, method, blocked)
        self.addCleanup(delattr, driver, method)
        self.addCleanup(release.set)
        return release

    def assert_keeps_its_namespaces(self, server, digests):
        """The DB, tracker and placement still give the server its
        namespaces, and they hold the tenant's bytes."""
        current = objects.Instance.get_by_uuid(
            self.context, server.uuid, expected_attrs=['resources'])
        self.assertEqual(sorted(r.identifier for r in server.resources),
                         sorted(r.identifier for r in current.resources))
        self.assert_host_consistent(current.host)
        self.assertEqual(2, self.placement_usage(current.host))
        node = self.node(current.host)
        self.assertEqual({node.uuid: {'VCPU': 1, 'MEMORY_MB':
                                      self.FLAVOR_MEMORY_MB, RC: 2}},
                         self.consumer_allocations(server.uuid))
        self.assertEqual(sorted(digests),
                         sorted(r.metadata.devpath
                                for r in current.resources))
        for path, digest in digests.items():
            self.assertEqual(digest, _digest(path), path)
        findings, _done = vpmem_audit.audit(self.context, self.reportclient)
        self.assertEqual([], [f for f in findings if f.problem])
        return current


class TestStopStart(PowerActionsTestBase):

    def test_stop_then_start_keeps_namespaces_and_data(self):
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'tenant bytes')
        stopping = self.record_states_at(SOURCE, 'power_off')
        self.act(server, {'os-stop': None})
        stopped = self.wait_for_state(server.uuid, vm_states.STOPPED)
        self.assertEqual([(vm_states.ACTIVE, 'powering-off')], stopping)
        self.assertEqual(power_state.SHUTDOWN, stopped.power_state)
        self.assertEqual('SHUTOFF', self.api_status(server))
        # The definition stays, so the guest restarts on its namespaces.
        domain = self.domain(SOURCE, server)
        self.assertFalse(domain.isActive())
        self.assertTrue(domain.isPersistent())
        self.assert_keeps_its_namespaces(server, digests)
        for path in digests:
            self.assertFalse(self.namespace_is_zero(
                SOURCE, path.rsplit('/', 1)[-1]))

        starting = self.record_states_at(SOURCE, 'power_on')
        self.act(server, {'os-start': None})
        started = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual([(vm_states.STOPPED, 'powering-on')], starting)
        self.assertEqual(power_state.RUNNING, started.power_state)
        self.assertEqual('ACTIVE', self.api_status(server))
        self.assertTrue(self.domain(SOURCE, server).isActive())
        self.assert_keeps_its_namespaces(server, digests)
        self.assertEqual(['start', 'stop', 'create'],
                         self.action_names(server))

    def test_guest_writes_survive_stop_and_start(self):
        server = self.boot_on(SOURCE)
        host = base.emulator.get_host(SOURCE)
        workload = host.set_workload(server.uuid,
                                     dirty_pages_per_second=2000)
        self.act(server, {'os-stop': None})
        self.wait_for_state(server.uuid, vm_states.STOPPED)
        self.act(server, {'os-start': None})
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.act(server, {'os-stop': None})
        self.wait_for_state(server.uuid, vm_states.STOPPED)
        written = sum(len(pages) for pages in workload.records.values())
        self.assertGreater(written, 0)
        for resource in server.resources:
            ok, bad = workload.verify(resource.metadata.devpath)
            self.assertTrue(ok, bad[:5])

    def test_guest_ignoring_acpi_is_stopped_after_the_timeout(self):
        self.flags(shutdown_timeout=1, group='compute')
        server = self.boot_on(SOURCE)
        base.emulator.get_host(SOURCE).configure(acpi_shutdown=False)
        self.act(server, {'os-stop': None})
        stopped = self.wait_for_state(server.uuid, vm_states.STOPPED)
        self.assertEqual(power_state.SHUTDOWN, stopped.power_state)
        self.assertFalse(self.domain(SOURCE, server).isActive())

    def test_stopped_server_survives_a_compute_restart(self):
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'kept')
        self.act(server, {'os-stop': None})
        self.wait_for_state(server.uuid, vm_states.STOPPED)
        self.restart_compute(SOURCE)
        self.manager(SOURCE).recover_moves_periodic(self.context)
        current = self.assert_keeps_its_namespaces(server, digests)
        self.assertEqual(vm_states.STOPPED, current.vm_state)
        self.assertFalse(self.domain(SOURCE, server).isActive())
        self.act(server, {'os-start': None})
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assert_keeps_its_namespaces(server, digests)

    def test_stop_cut_short_by_a_compute_crash_ends_at_its_restart(self):
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'crash-safe')
        crashed = self.crash_when(SOURCE, self.manager(SOURCE).driver,
                                  'power_off')
        self.act(server, {'os-stop': None})
        self.assertTrue(crashed.wait(self.TIMEOUT))
        left = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.assertEqual((vm_states.ACTIVE, 'powering-off'),
                         (left.vm_state, left.task_state))
        # The guest still runs: the service died before stopping it.
        self.assertTrue(self.domain(SOURCE, server).isActive())
        self.start_compute(SOURCE)
        stopped = self.wait_for_state(server.uuid, vm_states.STOPPED)
        self.assertEqual(power_state.SHUTDOWN, stopped.power_state)
        self.assertFalse(self.domain(SOURCE, server).isActive())
        self.assert_keeps_its_namespaces(server, digests)

    def test_stop_lost_with_a_killed_api_is_sent_again(self):
        # nova-api stops after it took the instance (powering-off) and
        # before its request left: no nova-compute restarts to notice.
        self.flags(power_action_stuck_timeout=1, group='compute')
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'lost-request')
        with fixtures.MockPatchObject(
                compute_rpcapi.ComputeAPI, 'stop_instance',
                side_effect=base.ServiceCrashed(
                    'nova-api killed before it sent the stop')):
            self.assertRaises(base.ServiceCrashed, self.api.stop,
                              self.context, server)
        compute = self.manager(SOURCE)
        left = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.assertEqual((vm_states.ACTIVE, 'powering-off'),
                         (left.vm_state, left.task_state))
        # Within the timeout its request may still be on its way.
        compute.resend_lost_power_requests_periodic(self.context)
        self.assertEqual('powering-off', objects.Instance.get_by_uuid(
            self.context, server.uuid).task_state)
        self.assertTrue(self.domain(SOURCE, server).isActive())
        time.sleep(1.1)
        compute.resend_lost_power_requests_periodic(self.context)
        stopped = self.wait_for_state(server.uuid, vm_states.STOPPED)
        self.assertEqual(power_state.SHUTDOWN, stopped.power_state)
        self.assertFalse(self.domain(SOURCE, server).isActive())
        self.assertEqual('SHUTOFF', self.api_status(server))
        self.assertEqual('stop', self.action_names(server)[0])
        self.assert_keeps_its_namespaces(server, digests)
        # The user goes on as usual.
        self.act(server, {'os-start': None})
        self.wait_for_state(server.uuid, vm_states.ACTIVE)

    def test_delete_of_a_stopped_server_erases_and_frees(self):
        server = self.boot_on(SOURCE)
        self.fill_namespaces(server, b'secret')
        self.act(server, {'os-stop': None})
        self.wait_for_state(server.uuid, vm_states.STOPPED)
        resp = self.request('DELETE', '/servers/%s' % server.uuid)
        self.assertEqual(204, resp.status_int, resp.text)
        self.wait_for_deleted(server.uuid)
        self.assert_free_and_erased(SOURCE)
        self.assertEqual([], self.domain_hosts(server.uuid))

    def test_failed_stop_leaves_the_server_active_with_an_error(self):
        server = self.boot_on(SOURCE)
        driver = self.manager(SOURCE).driver
        real = driver.power_off
        failures = []

        def fails_once(instance, timeout=0):
            if not failures:
                failures.append(instance.uuid)
                raise exception.InstancePowerOffFailure(
                    instance_uuid=instance.uuid, reason='hypervisor said no')
            return real(instance, timeout=timeout)

        driver.power_off = fails_once
        self.addCleanup(delattr, driver, 'power_off')
        self.act(server, {'os-stop': None})
        current = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING, current.power_state)
        resp = self.request('GET',
                            '/servers/%s/os-instance-actions' % server.uuid)
        stop = resp.json['instanceActions'][0]
        self.assertEqual(('stop', 'Error'), (stop['action'],
                                             stop['message']))
        fault = objects.InstanceFault.get_latest_for_instance(
            self.context, server.uuid)
        self.assertIn('hypervisor said no', fault.message)
        # The user may simply try again.
        self.act(server, {'os-stop': None})
        self.wait_for_state(server.uuid, vm_states.STOPPED)


class TestPauseReboot(PowerActionsTestBase):

    def test_pause_then_unpause(self):
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'paused bytes')
        pausing = self.record_states_at(SOURCE, 'pause')
        self.act(server, {'pause': None})
        paused = self.wait_for_state(server.uuid, vm_states.PAUSED)
        self.assertEqual([(vm_states.ACTIVE, 'pausing')], pausing)
        self.assertEqual(power_state.PAUSED, paused.power_state)
        self.assertEqual('PAUSED', self.api_status(server))
        self.assertEqual(base.emulator.VIR_DOMAIN_PAUSED,
                         self.domain(SOURCE, server).state()[0])
        self.assert_keeps_its_namespaces(server, digests)

        unpausing = self.record_states_at(SOURCE, 'unpause')
        self.act(server, {'unpause': None})
        active = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual([(vm_states.PAUSED, 'unpausing')], unpausing)
        self.assertEqual(power_state.RUNNING, active.power_state)
        self.assertEqual(base.emulator.VIR_DOMAIN_RUNNING,
                         self.domain(SOURCE, server).state()[0])
        self.assert_keeps_its_namespaces(server, digests)
        self.assertEqual(['unpause', 'pause', 'create'],
                         self.action_names(server))

    def test_soft_and_hard_reboot(self):
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'rebooted')
        rebooting = self.record_states_at(SOURCE, 'reboot')
        first_id = self.domain(SOURCE, server).ID()
        self.act(server, {'reboot': {'type': 'SOFT'}})
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.act(server, {'reboot': {'type': 'hard'}})
        rebooted = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual([(vm_states.ACTIVE, 'rebooting'),
                          (vm_states.ACTIVE, 'rebooting_hard')], rebooting)
        self.assertEqual(power_state.RUNNING, rebooted.power_state)
        self.assertNotEqual(first_id, self.domain(SOURCE, server).ID())
        self.assert_keeps_its_namespaces(server, digests)
        self.assertEqual(['reboot', 'reboot', 'create'],
                         self.action_names(server))

    def test_hard_reboot_starts_a_stopped_or_paused_server(self):
        server = self.boot_on(SOURCE)
        for action in ({'os-stop': None}, {'pause': None}):
            self.act(server, action)
            self.wait_for_state(server.uuid,
                                vm_states.STOPPED if 'os-stop' in action
                                else vm_states.PAUSED)
            self.act(server, {'reboot': {'type': 'HARD'}})
            current = self.wait_for_state(server.uuid, vm_states.ACTIVE)
            self.assertEqual(power_state.RUNNING, current.power_state)

    def test_bad_reboot_type_is_a_400(self):
        server = self.boot_on(SOURCE)
        for body in ({'reboot': {'type': 'WARM'}}, {'reboot': {}},
                     {'reboot': None}, {'os-stop': {'force': True}}):
            self.act(server, body, status=400)


class TestRefusals(PowerActionsTestBase):

    def test_wrong_state_is_a_409_naming_it(self):
        server = self.boot_on(SOURCE)
        self.refused(server, {'os-start': None}, 'vm_state active',
                     'start')
        self.refused(server, {'unpause': None}, 'vm_state active',
                     'unpause')
        self.act(server, {'os-stop': None})
        self.wait_for_state(server.uuid, vm_states.STOPPED)
        self.refused(server, {'os-stop': None}, 'vm_state stopped', 'stop')
        self.refused(server, {'pause': None}, 'vm_state stopped', 'pause')
        self.refused(server, {'reboot': {'type': 'SOFT'}},
                     'vm_state stopped', 'reboot')
        self.act(server, {'os-start': None})
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.act(server, {'pause': None})
        self.wait_for_state(server.uuid, vm_states.PAUSED)
        self.refused(server, {'pause': None}, 'vm_state paused')
        self.refused(server, {'os-stop': None}, 'vm_state paused')
        self.refused(server, {'reboot': {'type': 'SOFT'}},
                     'vm_state paused')

    def test_second_action_while_one_runs_is_a_409(self):
        server = self.boot_on(SOURCE)
        release = self.block(SOURCE, 'power_off')
        self.act(server, {'os-stop': None})
        self.refused(server, {'os-stop': None}, 'task_state powering-off')
        self.refused(server, {'reboot': {'type': 'HARD'}},
                     'task_state powering-off')
        self.refused(server, {'pause': None}, 'task_state powering-off')
        release.set()
        self.wait_for_state(server.uuid, vm_states.STOPPED)

    def test_compare_and_swap_lets_one_of_two_racing_requests_in(self):
        server = self.boot_on(SOURCE)
        release = self.block(SOURCE, 'pause')
        first = objects.Instance.get_by_uuid(self.context, server.uuid)
        second = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.api.pause(self.context, first)
        # The second read the instance idle, before the first took it.
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.stop, self.context, second)
        release.set()
        self.wait_for_state(server.uuid, vm_states.PAUSED)

    def test_locked_server_refuses_its_owner(self):
        server = self.boot_on(SOURCE)
        locked = objects.Instance.get_by_uuid(self.context, server.uuid)
        locked.locked = True
        locked.save()
        self.refused(server, {'os-stop': None}, 'locked', token=OWNER)
        self.refused(server, {'pause': None}, 'locked', token=OWNER)
        # An administrator may act on a locked server.
        self.act(server, {'os-stop': None})
        self.wait_for_state(server.uuid, vm_states.STOPPED)

    def test_other_project_cannot_see_the_server(self):
        server = self.boot_on(SOURCE)
        self.act(server, {'os-stop': None}, status=404,
                 token='eve:other')

    def test_actions_during_a_live_migration_are_a_409(self):
        server = self.boot_on(SOURCE)
        release = self.block(DEST, 'pre_live_migration')
        migration = self.live_migrate(server, host=DEST, force=True)
        self.wait_for_status(migration, 'preparing')
        for body in ({'os-stop': None}, {'pause': None},
                     {'reboot': {'type': 'SOFT'}},
                     {'reboot': {'type': 'HARD'}}):
            self.refused(server, body, 'task_state migrating')
        release.set()
        self.wait_for_status(migration, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(DEST, moved.host)

    def test_actions_during_a_cold_migration_are_a_409(self):
        server = self.boot_on(SOURCE)
        migration = self.api.migrate(self.context, server, host_name=DEST)
        self.wait_for_state(server.uuid, vm_states.RESIZED)
        self.wait_for_status(migration, 'finished')
        for body in ({'os-stop': None}, {'os-start': None},
                     {'pause': None}, {'reboot': {'type': 'HARD'}}):
            self.refused(server, body, 'vm_state resized')
        self.api.confirm_resize(self.context, objects.Instance.get_by_uuid(
            self.context, server.uuid))
        self.wait_for_state(server.uuid, vm_states.ACTIVE)

    def test_server_without_a_host_is_a_409(self):
        server = self.boot_on(SOURCE)
        hostless = objects.Instance.get_by_uuid(self.context, server.uuid)
        hostless.host = None
        hostless.vm_state = vm_states.ERROR
        hostless.save()
        self.refused(server, {'os-stop': None}, 'no compute host')


class TestLiveMigrationOfPoweredServers(PowerActionsTestBase):

    def test_stopped_server_cannot_be_live_migrated(self):
        server = self.boot_on(SOURCE)
        self.act(server, {'os-stop': None})
        self.wait_for_state(server.uuid, vm_states.STOPPED)
        for version in ('2.1', '2.30', '2.100'):
            body = {'os-migrateLive': {'host': DEST,
                                       'block_migration': False}}
            if version == '2.1':
                body['os-migrateLive']['disk_over_commit'] = False
            self.refused(server, body, 'vm_state stopped',
                         'live migrate', version=version)
        self.assertEqual([SOURCE], self.domain_hosts(server.uuid))
        current = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.assertEqual((SOURCE, vm_states.STOPPED, None),
                         (current.host, current.vm_state,
                          current.task_state))

    def test_paused_server_moves_and_stays_paused(self):
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'paused, moving')
        self.act(server, {'pause': None})
        self.wait_for_state(server.uuid, vm_states.PAUSED)
        migration = self.live_migrate(server, host=DEST, force=True)
        self.wait_for_status(migration, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.PAUSED)
        self.assertEqual(DEST, moved.host)
        self.assertEqual(power_state.PAUSED, moved.power_state)
        self.assertEqual('PAUSED', self.api_status(server))
        self.assertEqual(base.emulator.VIR_DOMAIN_PAUSED,
                         self.domain(DEST, server).state()[0])
        self.assertEqual([DEST], self.domain_hosts(server.uuid))
        # The destination's namespaces hold the bytes the guest had.
        self.assertEqual(
            sorted(digests.values()),
            sorted(_digest(r.metadata.devpath) for r in moved.resources))
        self.assert_free_and_erased(SOURCE)
        self.assert_host_consistent(DEST)
        self.act(server, {'unpause': None})
        active = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING, active.power_state)
        self.assertEqual(base.emulator.VIR_DOMAIN_RUNNING,
                         self.domain(DEST, server).state()[0])

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

"""The power methods of the libvirt driver, on an emulated host.

The guest runs on the emulated libvirt with file-backed namespaces; the
tests read the domain's state and the namespace files back.
"""

import time
from unittest import mock

from nova.compute import power_state
from nova import exception
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import emulator
from nova.virt.libvirt import power

fill = test_driver.fill
OTHER_PROVIDER = '7d0c7a4e-34a4-4a8e-9f51-2d3bb1f0f0aa'


class PowerTestCase(test_driver.DriverTestBase):

    def setUp(self):
        super().setUp()
        self.instance = self.make_instance(['ns_s1', 'ns_b1', 'ns_s2'])
        self.drv.spawn(None, self.instance)
        self.domain = emulator.open('emulated://' + self.NODE
                                    ).lookupByUUIDString(self.instance.uuid)
        # Polls of a shutdown wait need not be slow here.
        self.useFixture(test_driver.fixtures.MockPatchObject(
            power, 'SHUTDOWN_POLL_SECONDS', 0.01))

    def state(self):
        return self.drv.get_info(self.instance).state

    def data(self, name):
        with open(self.ns_path(name), 'rb') as f:
            return f.read()

    def test_power_off_clean_keeps_definition_and_data(self):
        fill(self.ns_path('ns_s1'), b'tenant bytes')
        before = self.data('ns_s1')
        self.assertTrue(self.drv.power_off(self.instance, timeout=5))
        self.assertEqual(power_state.SHUTDOWN, self.state())
        self.assertEqual([emulator.VIR_DOMAIN_SHUTOFF,
                          emulator.VIR_DOMAIN_SHUTOFF_SHUTDOWN],
                         self.domain.state())
        self.assertTrue(self.domain.isPersistent())
        self.assertEqual(before, self.data('ns_s1'))

    def test_power_off_stops_a_guest_ignoring_acpi_after_timeout(self):
        emulator.get_host(self.NODE).configure(acpi_shutdown=False)
        self.assertFalse(self.drv.power_off(self.instance, timeout=0.05))
        self.assertEqual([emulator.VIR_DOMAIN_SHUTOFF,
                          emulator.VIR_DOMAIN_SHUTOFF_DESTROYED],
                         self.domain.state())
        self.assertTrue(self.domain.isPersistent())

    def test_power_off_without_timeout_stops_at_once(self):
        with mock.patch.object(self.drv, '_shutdown_cleanly') as clean:
            self.assertFalse(self.drv.power_off(self.instance, timeout=0))
        clean.assert_not_called()
        self.assertEqual(power_state.SHUTDOWN, self.state())

    def test_power_off_of_a_paused_guest_stops_it(self):
        self.drv.pause(self.instance)
        self.drv.power_off(self.instance, timeout=0.05)
        self.assertEqual(power_state.SHUTDOWN, self.state())

    def test_power_off_of_a_stopped_guest_is_a_no_op(self):
        self.drv.power_off(self.instance)
        self.assertFalse(self.drv.power_off(self.instance, timeout=5))
        self.assertEqual(power_state.SHUTDOWN, self.state())

    def test_power_off_failure_names_the_instance(self):
        libvirt = self.drv.host.libvirt
        error = libvirt.libvirtError('boom')
        with mock.patch.object(emulator.virDomain, 'destroy',
                               side_effect=error):
            exc = self.assertRaises(exception.InstancePowerOffFailure,
                                    self.drv.power_off, self.instance)
        self.assertIn(self.instance.uuid, exc.format_message())

    def test_power_on_runs_on_the_same_namespaces_with_their_data(self):
        fill(self.ns_path('ns_b1'), b'kept across a stop')
        before = self.data('ns_b1')
        paths = self.drv.host.get_guest(self.instance).get_nvdimm_paths()
        self.drv.power_off(self.instance)
        self.drv.power_on(None, self.instance)
        self.assertEqual(power_state.RUNNING, self.state())
        self.assertEqual(
            paths, self.drv.host.get_guest(self.instance).get_nvdimm_paths())
        self.assertEqual(before, self.data('ns_b1'))

    def test_power_on_of_a_running_guest_is_a_no_op(self):
        self.drv.power_on(None, self.instance)
        self.assertEqual(power_state.RUNNING, self.state())

    def test_power_on_refuses_namespaces_no_longer_this_hosts(self):
        self.drv.power_off(self.instance)
        self.instance.resources = test_driver.objects.ResourceList(objects=[
            self.foreign_copy('ns_s1', provider_uuid=OTHER_PROVIDER),
            self.by_name['ns_b1'], self.by_name['ns_s2']])
        exc = self.assertRaises(exception.InstancePowerOnFailure,
                                self.drv.power_on, None, self.instance)
        self.assertIn(OTHER_PROVIDER, exc.format_message())
        self.assertEqual(power_state.SHUTDOWN, self.state())

    def test_pause_and_unpause(self):
        self.drv.pause(self.instance)
        self.assertEqual(power_state.PAUSED, self.state())
        self.drv.pause(self.instance)  # twice is fine
        self.drv.unpause(self.instance)
        self.assertEqual(power_state.RUNNING, self.state())
        self.drv.unpause(self.instance)
        self.assertEqual(power_state.RUNNING, self.state())

    def _wait_for_writes(self, workload, at_least):
        deadline = time.monotonic() + 10
        while sum(len(pages) for pages in workload.records.values()) < (
                at_least):
            self.assertLess(time.monotonic(), deadline, 'no writes')
            time.sleep(0.01)

    def _assert_every_write_kept(self, workload):
        for name in ('ns_s1', 'ns_b1', 'ns_s2'):
            ok, bad = workload.verify(self.ns_path(name))
            self.assertTrue(ok, '%s lost pages %s' % (name, bad[:5]))

    def test_pause_stops_the_guest_writing_and_keeps_its_data(self):
        host = emulator.get_host(self.NODE)
        workload = host.set_workload(self.instance.uuid,
                                     dirty_pages_per_second=5000)
        self._wait_for_writes(workload, 20)
        self.drv.pause(self.instance)
        before = [self.data(n) for n in ('ns_s1', 'ns_b1', 'ns_s2')]
        time.sleep(0.05)
        self.assertEqual(before,
                         [self.data(n) for n in ('ns_s1', 'ns_b1', 'ns_s2')])
        self._assert_every_write_kept(workload)
        self.drv.unpause(self.instance)
        self._wait_for_writes(workload, 40)

    def test_stop_and_start_keep_every_write_of_the_guest(self):
        host = emulator.get_host(self.NODE)
        workload = host.set_workload(self.instance.uuid,
                                     dirty_pages_per_second=5000)
        self._wait_for_writes(workload, 20)
        self.drv.power_off(self.instance, timeout=5)
        self._assert_every_write_kept(workload)
        self.drv.power_on(None, self.instance)
        written = sum(len(p) for p in workload.records.values())
        self._wait_for_writes(workload, written + 20)
        self.drv.power_off(self.instance)
        self._assert_every_write_kept(workload)

    def test_soft_reboot_restarts_through_a_shutdown(self):
        old_id = self.domain.ID()
        with mock.patch.object(self.drv, '_stop_at_once',
                               wraps=self.drv._stop_at_once) as hard:
            self.drv.reboot(None, self.instance, power.REBOOT_SOFT,
                            timeout=5)
        hard.assert_not_called()
        self.assertEqual(power_state.RUNNING, self.state())
        self.assertNotEqual(old_id, self.domain.ID())

    def test_soft_reboot_falls_back_to_hard(self):
        emulator.get_host(self.NODE).configure(acpi_shutdown=False)
        with mock.patch.object(self.drv, '_stop_at_once',
                               wraps=self.drv._stop_at_once) as hard:
            self.drv.reboot(None, self.instance, power.REBOOT_SOFT,
                            timeout=0.05)
        hard.assert_called_once()
        self.assertEqual(power_state.RUNNING, self.state())

    def test_hard_reboot_of_paused_and_stopped_guests_runs_them(self):
        self.drv.pause(self.instance)
        self.drv.reboot(None, self.instance, power.REBOOT_HARD)
        self.assertEqual(power_state.RUNNING, self.state())
        self.drv.power_off(self.instance)
        self.drv.reboot(None, self.instance, power.REBOOT_HARD)
        self.assertEqual(power_state.RUNNING, self.state())

    def test_reboot_keeps_the_data(self):
        fill(self.ns_path('ns_s2'), b'survives reboots')
        before = self.data('ns_s2')
        self.drv.reboot(None, self.instance, power.REBOOT_SOFT, timeout=5)
        self.drv.reboot(None, self.instance, power.REBOOT_HARD)
        self.assertEqual(before, self.data('ns_s2'))

    def test_missing_domain(self):
        self.drv.destroy(None, self.instance)
        for call in (lambda: self.drv.power_off(self.instance),
                     lambda: self.drv.power_on(None, self.instance),
                     lambda: self.drv.pause(self.instance)):
            self.assertRaises(exception.InstanceNotFound, call)


class EmulatorShutdownTestCase(test_driver.DriverTestBase):
    """The emulator's ACPI shutdown, as the power methods rely on it."""

    def setUp(self):
        super().setUp()
        self.instance = self.make_instance(['ns_s1', 'ns_b1', 'ns_s2'])
        self.drv.spawn(None, self.instance)
        self.domain = emulator.open('emulated://' + self.NODE
                                    ).lookupByUUIDString(self.instance.uuid)

    def test_paused_guest_ignores_the_request(self):
        self.domain.suspend()
        self.assertEqual(0, self.domain.shutdown())
        self.assertEqual(emulator.VIR_DOMAIN_PAUSED, self.domain.state()[0])

    def test_guest_ignoring_acpi(self):
        emulator.get_host(self.NODE).configure(acpi_shutdown=False)
        self.domain.shutdown()
        self.assertEqual(emulator.VIR_DOMAIN_RUNNING, self.domain.state()[0])

    def test_stopped_guest_refuses(self):
        self.domain.destroy()
        exc = self.assertRaises(emulator.libvirtError, self.domain.shutdown)
        self.assertEqual(emulator.VIR_ERR_OPERATION_INVALID,
                         exc.get_error_code())

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

"""Pause/unpause and stop/start of the stamp guest on real libvirt + QEMU.

Pause: QEMU's vCPUs stop, so the guest's write counter stands still, and
it goes on from there after unpause with every page it wrote intact.
Stop/start: the guest is halted between two pages first (its STOP
request, kept in its control page), so the namespace files are at rest;
QEMU is then stopped and started again from the same definition. The
restarted guest re-initialises its control page, stamps one page and
halts: its counter continues from the value in the namespace, which a
guest on other (or erased) namespaces could not do, and nothing else in
the files changed.
"""

import time

try:
    import libvirt
except ImportError:
    # IntegrationTestBase.setUp fails each test with what to install.
    libvirt = None

from nova.compute import power_state
from nova.compute import vm_states
from nova.tests.integration import base
from nova.virt.libvirt import devguest
from nova.virt.libvirt import local_hosts

PAGE = devguest.PAGE
HOST = 'host-a'


def _read_pages(path):
    with open(path, 'rb') as f:
        data = f.read()
    return [data[i:i + PAGE] for i in range(0, len(data), PAGE)]


class PowerActionsTest(base.IntegrationTestBase):

    def setUp(self):
        super().setUp()
        # The stamp guest has no ACPI: do not wait for it to power off.
        self.flags(shutdown_timeout=1, group='compute')

    def act(self, uuid, body):
        self.rest('POST', '/servers/%s/action' % uuid, body, expect=202)

    def assert_keeps_its_namespaces(self, instance, paths):
        self.assertEqual(paths, self.guest_paths(HOST, instance.uuid))
        self.assert_host_consistent(HOST)
        self.assertEqual(2, self.placement_usage(HOST))
        self.assertEqual(
            sorted(r.identifier for r in instance.resources),
            self.rt_assigned(HOST))

    def test_pause_and_unpause(self):
        instance = self.boot_stamp_guest(HOST)
        uuid = instance.uuid
        paths = self.guest_paths(HOST, uuid)

        self.act(uuid, {'pause': None})
        paused = self.wait_for_state(uuid, vm_states.PAUSED)
        self.assertEqual(power_state.PAUSED, paused.power_state)
        self.assertEqual(libvirt.VIR_DOMAIN_PAUSED,
                         self.domain_state(HOST, uuid))
        # No vCPU runs: the guest writes nothing while paused.
        before = devguest.read_control(paths[0]).written
        time.sleep(1)
        self.assertEqual(before, devguest.read_control(paths[0]).written)
        self.assert_keeps_its_namespaces(paused, paths)

        self.act(uuid, {'unpause': None})
        active = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING, active.power_state)
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         self.domain_state(HOST, uuid))
        self.wait_for_pages(paths[0], before + 20)
        # Every page written before, during and after the pause is right.
        control = self.assert_pattern(paths)
        self.wait_for_pages(paths[0], control.written + 5)

    def test_stop_and_start_keep_the_data(self):
        instance = self.boot_stamp_guest(HOST)
        uuid = instance.uuid
        paths = self.guest_paths(HOST, uuid)
        self.wait_for_pages(paths[0], 50)
        control = local_hosts.stop_guest_writes(paths[0])
        self.assertTrue(devguest.verify(paths).ok)
        snapshot = [_read_pages(p) for p in paths]

        self.act(uuid, {'os-stop': None})
        stopped = self.wait_for_state(uuid, vm_states.STOPPED)
        self.assertEqual(power_state.SHUTDOWN, stopped.power_state)
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF,
                         self.domain_state(HOST, uuid))
        domain = self.libvirt_conn(HOST).lookupByUUIDString(uuid)
        self.assertTrue(domain.isPersistent())
        self.assert_keeps_its_namespaces(stopped, paths)
        self.assertEqual(snapshot, [_read_pages(p) for p in paths])

        self.act(uuid, {'os-start': None})
        started = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING, started.power_state)
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         self.domain_state(HOST, uuid))
        self.assertEqual(paths, self.guest_paths(HOST, uuid))
        # The counter in the namespace goes on: the same data came back.
        self.wait_for_pages(paths[0], control.written + 1)
        after = devguest.wait_halted(paths[0])
        self.assertEqual(control.written + 1, after.written)
        for index, (path, before) in enumerate(zip(paths, snapshot,
                                                   strict=True)):
            now = _read_pages(path)
            changed = {n for n, (old, new) in enumerate(
                zip(before, now, strict=True)) if old != new}
            # The control page, and the page stamped after the boot.
            allowed = {0, 1} if index == 0 else set()
            self.assertLessEqual(changed, allowed, '%s: pages %s changed'
                                 % (path, sorted(changed)))
        self.assert_keeps_its_namespaces(started, paths)
        devguest.request_resume(paths[0])
        self.wait_for_pages(paths[0], after.written + 20)

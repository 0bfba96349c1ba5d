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

"""Tests of the Guest wrapper over emulated domains."""

import os
from unittest import mock
import uuid as uuidlib

import fixtures

from nova.compute import power_state
from nova import test
from nova.virt.libvirt import domain_xml
from nova.virt.libvirt import emulator
from nova.virt.libvirt import guest as libvirt_guest

MiB = 1024 * 1024


class GuestTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.addCleanup(emulator.reset)
        self.conn = emulator.open('emulated://cn-1')
        self.path = os.path.join(self.tmp, 'ns0')
        with open(self.path, 'wb') as f:
            f.truncate(4 * MiB)
        self.uuid = str(uuidlib.uuid4())
        spec = domain_xml.GuestSpec(
            name='instance-%s' % self.uuid, uuid=self.uuid, memory_mb=64,
            vcpus=1, nvdimms=domain_xml.nvdimm_specs(
                [mock.Mock(devpath=self.path, size=4 * MiB,
                           align=2 * MiB)], devdax=False))
        self.domain = self.conn.defineXML(domain_xml.guest_xml(spec))
        self.guest = libvirt_guest.Guest(self.domain, emulator)

    def test_identity(self):
        self.assertEqual(self.uuid, self.guest.uuid)
        self.assertEqual('instance-%s' % self.uuid, self.guest.name)
        self.assertIs(self.domain, self.guest.domain)
        self.assertTrue(self.guest.is_persistent())

    def test_module_defaults_to_the_emulator_for_emulated_domains(self):
        self.assertIs(emulator, libvirt_guest.Guest(self.domain).libvirt)

    def test_lifecycle_power_states(self):
        self.assertEqual(power_state.SHUTDOWN, self.guest.get_power_state())
        self.guest.launch()
        self.assertTrue(self.guest.is_active())
        self.assertEqual(power_state.RUNNING, self.guest.get_power_state())
        self.guest.pause()
        self.assertEqual(power_state.PAUSED, self.guest.get_power_state())
        self.guest.resume()
        self.assertEqual(power_state.RUNNING, self.guest.get_power_state())
        self.guest.poweroff()
        self.assertFalse(self.guest.is_active())
        self.assertEqual(power_state.SHUTDOWN, self.guest.get_power_state())
        self.guest.undefine()
        self.assertRaises(emulator.libvirtError,
                          self.conn.lookupByUUIDString, self.uuid)

    def test_launch_paused(self):
        self.guest.launch(pause=True)
        self.assertEqual(power_state.PAUSED, self.guest.get_power_state())

    def test_state_map_covers_libvirt_states(self):
        expected = {
            emulator.VIR_DOMAIN_NOSTATE: power_state.NOSTATE,
            emulator.VIR_DOMAIN_RUNNING: power_state.RUNNING,
            emulator.VIR_DOMAIN_BLOCKED: power_state.RUNNING,
            emulator.VIR_DOMAIN_PAUSED: power_state.PAUSED,
            emulator.VIR_DOMAIN_SHUTDOWN: power_state.SHUTDOWN,
            emulator.VIR_DOMAIN_SHUTOFF: power_state.SHUTDOWN,
            emulator.VIR_DOMAIN_CRASHED: power_state.CRASHED,
            emulator.VIR_DOMAIN_PMSUSPENDED: power_state.SUSPENDED,
            # A state newer than this code knows.
            99: power_state.NOSTATE,
        }
        for state, nova_state in expected.items():
            with mock.patch.object(self.domain, 'state',
                                   return_value=[state, 0]):
                self.assertEqual(nova_state, self.guest.get_power_state(),
                                 'libvirt state %d' % state)

    def test_xml_desc_live_and_migratable(self):
        self.guest.launch()
        self.assertEqual([self.path], self.guest.get_nvdimm_paths())
        live = self.guest.get_xml_desc()
        migratable = self.guest.get_xml_desc(migratable=True)
        # The running XML shows the size the guest sees (label removed,
        # aligned down); the migratable one the size as defined.
        self.assertIn('<size unit="KiB">2048</size>', live)
        self.assertIn('<size unit="KiB">4096</size>', migratable)
        self.assertIn('id="', live)
        self.assertNotIn('id="', migratable.split('>', 1)[0])

    def test_xml_desc_inactive(self):
        self.guest.launch()
        inactive = self.guest.get_xml_desc(inactive=True)
        self.assertIn('<size unit="KiB">4096</size>', inactive)

    def test_errors_are_the_modules_libvirt_error(self):
        exc = self.assertRaises(emulator.libvirtError, self.guest.poweroff)
        self.assertEqual(emulator.VIR_ERR_OPERATION_INVALID,
                         exc.get_error_code())

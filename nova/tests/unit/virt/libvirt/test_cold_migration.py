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

"""The libvirt driver's part of cold migration that the functional tests
cannot reach: how the guest is stopped, and what a refusal says."""

import types
from unittest import mock

from nova import exception
from nova import objects
from nova import test
from nova.virt.libvirt import cold_migration
from nova.virt.libvirt import driver as libvirt_driver


class _Driver(cold_migration.ColdMigrationMixin):

    # The driver's own device resolution, on a stand-in host.
    ordered_local_devices = libvirt_driver.LibvirtDriver.ordered_local_devices

    def __init__(self, guest):
        super().__init__()
        self._conf = types.SimpleNamespace(host='compute-a')
        self._host = mock.Mock()
        self._host.get_guest.return_value = guest
        self._host.libvirt.libvirtError = RuntimeError


class PowerOffTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.guest = mock.Mock()
        self.driver = _Driver(self.guest)
        self.instance = mock.Mock(uuid='inst')
        self.useFixture_poll()

    def useFixture_poll(self):
        patcher = mock.patch.object(cold_migration, '_SHUTDOWN_POLL_SECONDS',
                                    0.01)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_obeying_guest_is_not_pulled(self):
        self.guest.is_active.side_effect = [True, True, False, False]
        self.driver.power_off_for_migration(self.instance, 5)
        self.guest.shutdown.assert_called_once_with()
        self.guest.poweroff.assert_not_called()

    def test_ignoring_guest_is_stopped_after_the_timeout(self):
        self.guest.is_active.return_value = True
        self.driver.power_off_for_migration(self.instance, 1)
        self.guest.shutdown.assert_called_once_with()
        self.guest.poweroff.assert_called_once_with()

    def test_refused_shutdown_request_still_stops(self):
        self.guest.is_active.return_value = True
        self.guest.shutdown.side_effect = RuntimeError('no ACPI')
        self.driver.power_off_for_migration(self.instance, 1)
        self.guest.poweroff.assert_called_once_with()

    def test_zero_timeout_stops_at_once(self):
        self.guest.is_active.return_value = True
        self.driver.power_off_for_migration(self.instance, 0)
        self.guest.shutdown.assert_not_called()
        self.guest.poweroff.assert_called_once_with()

    def test_stopped_guest_is_left_alone(self):
        self.guest.is_active.return_value = False
        self.driver.power_off_for_migration(self.instance, 5)
        self.guest.shutdown.assert_not_called()
        self.guest.poweroff.assert_not_called()


class OrderedDevicesTestCase(test.NoDBTestCase):

    def test_resources_not_matching_the_flavor_are_refused(self):
        driver = _Driver(mock.Mock())
        instance = mock.Mock(uuid='inst', flavor=objects.Flavor(
            extra_specs={'hw:pmem': 'SMALL,SMALL'}))
        resource = objects.Resource(
            provider_uuid='00000000-0000-0000-0000-000000000001',
            resource_class='CUSTOM_PMEM_NAMESPACE_SMALL', identifier='ns0',
            metadata=objects.LibvirtVPMEMDevice(
                label='SMALL', name='ns0', size=1, align=1, devpath='/p'))
        err = self.assertRaises(exception.VPMEMCopyFailed,
                                driver.send_vpmems, instance, [resource],
                                {'host': '127.0.0.1', 'port': 1})
        self.assertIn('inst', str(err))
        self.assertIn('SMALL', str(err))

    def test_nothing_to_copy(self):
        driver = _Driver(mock.Mock())
        instance = mock.Mock(uuid='inst', flavor=objects.Flavor(
            extra_specs={}))
        self.assertEqual(0, driver.send_vpmems(instance, [], {}))
        self.assertIsNone(driver.receive_vpmems(instance, []))


class MigrationDataPortsTestCase(test.NoDBTestCase):

    def ports(self, first, last):
        return cold_migration.migration_data_ports(types.SimpleNamespace(
            migration_data_port_min=first, migration_data_port_max=last))

    def test_any_port_or_a_range(self):
        self.assertEqual((0, 0), self.ports(0, 0))
        self.assertEqual((49200, 49209), self.ports(49200, 49209))

    def test_half_set_or_reversed_is_refused_naming_the_options(self):
        for first, last in ((49200, 0), (0, 49200), (49300, 49200)):
            err = self.assertRaises(exception.InvalidConfiguration,
                                    self.ports, first, last)
            self.assertIn('[compute]migration_data_port_min = %d' % first,
                          str(err))

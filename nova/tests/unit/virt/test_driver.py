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

"""Tests of the ComputeDriver interface and load_compute_driver."""

from nova import exception
from nova import test
from nova.virt import driver
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import emulator


class ComputeDriverTestCase(test.NoDBTestCase):

    def test_every_method_is_left_to_drivers(self):
        base = driver.ComputeDriver()
        calls = [
            (base.init_host, ('h',)), (base.cleanup_host, ('h',)),
            (base.get_available_nodes, ()),
            (base.get_available_resource, ('n',)),
            (base.get_inventory, ('n',)),
            (base.get_vpmem_resources, ('n', 'rp')),
            (base.spawn, (None, None)), (base.destroy, (None, None)),
            (base.erase_vpmems, (None, [])), (base.get_info, (None,)),
            (base.instance_exists, (None,)),
            (base.list_instance_uuids, ()),
        ]
        for method, args in calls:
            self.assertRaises(NotImplementedError, method, *args)

    def test_instance_info(self):
        info = driver.InstanceInfo(state=1)
        self.assertEqual(1, info.state)
        self.assertIsNone(info.internal_id)


class LoadComputeDriverTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(emulator.reset)
        self.flags(group='libvirt', connection_uri='emulated://cn-load')

    def test_default_is_the_libvirt_driver(self):
        loaded = driver.load_compute_driver()
        self.assertIsInstance(loaded, libvirt_driver.LibvirtDriver)
        self.assertEqual('emulated://cn-load', loaded.host.uri)

    def test_module_path_and_arguments(self):
        loaded = driver.load_compute_driver(
            'libvirt.driver.LibvirtDriver', conf=self.conf)
        self.assertIsInstance(loaded, libvirt_driver.LibvirtDriver)

    def test_unknown_names(self):
        for name in ('LibvirtDriver', 'nothere.Driver',
                     'libvirt.NoSuchDriver',
                     # Found, but not a ComputeDriver.
                     'hardware.get_vpmem_labels',
                     'libvirt.host.Host'):
            exc = self.assertRaises(exception.InvalidConfiguration,
                                    driver.load_compute_driver, name)
            self.assertIn(name, exc.format_message())

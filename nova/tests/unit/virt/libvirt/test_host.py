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

"""Tests of the libvirt Host: module choice, connection, host facts."""

import sys
import types
from unittest import mock
import uuid as uuidlib

from nova import exception
from nova import test
from nova.virt.libvirt import emulator
from nova.virt.libvirt import guest as libvirt_guest
from nova.virt.libvirt import host as libvirt_host

GiB = 1024 ** 3


def minimal_xml(name, dom_uuid):
    return ("<domain type='kvm'><name>%s</name><uuid>%s</uuid>"
            "<memory unit='KiB'>65536</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
            "<devices/></domain>" % (name, dom_uuid))


class ModuleChoiceTestCase(test.NoDBTestCase):

    def test_emulated_uri_uses_the_emulator(self):
        self.addCleanup(emulator.reset)
        host = libvirt_host.Host('emulated://cn-1')
        self.assertIs(emulator, host.libvirt)
        self.assertIn('emulator', libvirt_host.describe(host))

    def test_other_uri_imports_libvirt_python(self):
        fake = types.ModuleType('libvirt')
        host = libvirt_host.Host('qemu+tcp://far/system')
        with mock.patch.dict(sys.modules, {'libvirt': fake}):
            self.assertIs(fake, host.libvirt)
        # Imported once, kept afterwards.
        self.assertIs(fake, host.libvirt)
        # Nothing is opened until a call needs the connection.
        self.assertIsNone(host._conn)

    def test_empty_uri_means_qemu_system(self):
        fake = types.ModuleType('libvirt')
        host = libvirt_host.Host('')
        self.assertEqual('qemu:///system', host.uri)
        with mock.patch.dict(sys.modules, {'libvirt': fake}):
            self.assertIs(fake, host.libvirt)

    def test_real_libvirt_prints_no_errors_itself(self):
        # libvirt-python's default handler prints each error to stderr
        # besides raising it; the driver handles them.
        fake = types.ModuleType('libvirt')
        fake.registerErrorHandler = mock.Mock()
        with mock.patch.dict(sys.modules, {'libvirt': fake}):
            self.assertIs(fake, libvirt_host.import_libvirt_module(
                'qemu:///system'))
        fake.registerErrorHandler.assert_called_once_with(mock.ANY, None)
        handler = fake.registerErrorHandler.call_args.args[0]
        self.assertIsNone(handler(None, (1, 2, 'message')))

    def test_missing_libvirt_python_says_how_to_install_it(self):
        # None in sys.modules makes "import libvirt" raise ImportError, as
        # on a machine without libvirt-python.
        with mock.patch.dict(sys.modules, {'libvirt': None}):
            # Building the Host works (a driver can be built anywhere);
            # the first use says what is missing.
            host = libvirt_host.Host('qemu:///system')
            exc = self.assertRaises(exception.LibvirtPythonNotInstalled,
                                    host.get_connection)
            self.assertRaises(exception.LibvirtPythonNotInstalled,
                              getattr, host, 'libvirt')
        message = exc.format_message()
        self.assertIn('qemu:///system', message)
        self.assertIn("pip install libvirt-python", message)
        self.assertIn("apt-get install libvirt-dev pkg-config", message)
        self.assertIn('emulated://', message)
        self.assertIsInstance(exc, exception.InvalidConfiguration)


class HostTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(emulator.reset)
        self.host = libvirt_host.Host('emulated://cn-1')
        self.emulated = emulator.get_host('cn-1')

    def test_connection_is_opened_once(self):
        conn = self.host.get_connection()
        self.assertIs(conn, self.host.get_connection())
        self.assertEqual('emulated://cn-1', conn.getURI())

    def test_reconnects_when_closed(self):
        conn = self.host.get_connection()
        conn.close()
        again = self.host.get_connection()
        self.assertIsNot(conn, again)
        self.assertEqual(1, again.isAlive())

    def test_reconnects_when_liveness_check_fails(self):
        conn = self.host.get_connection()
        with mock.patch.object(conn, 'isAlive',
                               side_effect=emulator.libvirtError('gone')):
            again = self.host.get_connection()
        self.assertIsNot(conn, again)

    def test_close_then_reopen(self):
        conn = self.host.get_connection()
        self.host.close()
        self.assertEqual(0, conn.isAlive())
        self.assertIsNot(conn, self.host.get_connection())
        self.host.close()
        self.host.close()  # closing twice is harmless

    def test_open_failure_is_hypervisor_unavailable(self):
        host = libvirt_host.Host('emulated://cn-1/not-a-path')
        exc = self.assertRaises(exception.HypervisorUnavailable,
                                host.get_connection)
        self.assertIn('emulated://cn-1/not-a-path', exc.format_message())
        self.assertIn('not-a-path', exc.format_message())

    def test_host_facts(self):
        self.emulated.configure(sockets=2, cores=3, threads=2,
                                memory=8 * GiB)
        self.assertEqual('cn-1', self.host.get_hostname())
        self.assertEqual('QEMU', self.host.get_type())
        self.assertEqual(7002000, self.host.get_version())
        self.assertEqual(9000000, self.host.get_lib_version())
        self.assertEqual(12, self.host.get_cpu_count())
        self.assertEqual(8192, self.host.get_memory_mb_total())

    def test_configured_hostname_names_the_node(self):
        # Two session daemons of one machine both report its host name;
        # [libvirt]hypervisor_hostname tells their nodes apart.
        host = libvirt_host.Host('emulated://cn-1', hostname='node-a')
        self.assertEqual('node-a', host.get_hostname())
        self.assertEqual('cn-1',
                         host.get_connection().getHostname())
        self.assertEqual('cn-1', libvirt_host.Host(
            'emulated://cn-1', hostname='').get_hostname())
        caps = self.host.get_capabilities()
        self.assertEqual('x86_64', caps.findtext('./host/cpu/arch'))

    def test_get_guest(self):
        dom_uuid = str(uuidlib.uuid4())
        self.host.write_instance_config(minimal_xml('g1', dom_uuid))
        guest = self.host.get_guest(types.SimpleNamespace(uuid=dom_uuid))
        self.assertIsInstance(guest, libvirt_guest.Guest)
        self.assertEqual(dom_uuid, guest.uuid)
        self.assertEqual('g1', guest.name)
        self.assertIs(emulator, guest.libvirt)
        # A uuid string works as well as an instance.
        self.assertEqual(dom_uuid, self.host.get_guest(dom_uuid).uuid)

    def test_get_guest_missing_is_instance_not_found(self):
        missing = str(uuidlib.uuid4())
        exc = self.assertRaises(exception.InstanceNotFound,
                                self.host.get_guest, missing)
        self.assertIn(missing, exc.format_message())

    def test_get_guest_other_errors_propagate(self):
        conn = self.host.get_connection()
        error = emulator.libvirtError(
            'broken', code=emulator.VIR_ERR_INTERNAL_ERROR)
        with mock.patch.object(conn, 'lookupByUUIDString',
                               side_effect=error):
            raised = self.assertRaises(emulator.libvirtError,
                                       self.host.get_guest,
                                       str(uuidlib.uuid4()))
        self.assertIs(error, raised)

    def test_write_instance_config_and_list_guests(self):
        first = str(uuidlib.uuid4())
        second = str(uuidlib.uuid4())
        guest = self.host.write_instance_config(minimal_xml('a', first))
        self.host.write_instance_config(minimal_xml('b', second))
        self.assertFalse(guest.is_active())
        guest.launch()
        self.assertEqual({first, second},
                         {g.uuid for g in self.host.list_guests()})
        self.assertEqual([first], [g.uuid for g in
                                   self.host.list_guests(only_running=True)])

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

"""Tests of the libvirt driver on emulated hosts with file namespaces.

Nothing below the driver is faked: the emulated libvirt runs the guests,
HostNamespaces with the file backend finds and erases real files, and the
tests read those files back.
"""

import os
import sys
from unittest import mock

import fixtures
from oslo_serialization import jsonutils
from oslo_utils import uuidutils

from nova.compute import power_state
from nova import exception
from nova import objects
from nova import test
from nova.virt import driver as virt_driver
from nova.virt.libvirt import domain_xml
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import emulator
from nova.virt.libvirt import vpmem

MiB = 1024 * 1024
GiB = 1024 * MiB
SMALL = 'CUSTOM_PMEM_NAMESPACE_SMALL'
BIG = 'CUSTOM_PMEM_NAMESPACE_BIG'


PROVIDER_UUID = uuidutils.generate_uuid()


def resource(name, resource_class, provider_uuid=PROVIDER_UUID):
    """A Resource as instance.resources would hold it (for pure tests)."""
    return objects.Resource(
        provider_uuid=provider_uuid, resource_class=resource_class,
        identifier=name,
        metadata=objects.LibvirtVPMEMDevice(
            label=resource_class.rsplit('_', 1)[-1], name=name, size=4 * MiB,
            devpath='/dev/' + name, align=2 * MiB))


def first_nonzero(path):
    """Offset of the first non-zero byte of a file, or None."""
    with open(path, 'rb') as f:
        data = f.read()
    stripped = data.lstrip(b'\0')
    return len(data) - len(stripped) if stripped else None


def fill(path, pattern=b'guest data '):
    """Write data at the start, middle and end of a namespace file."""
    size = os.path.getsize(path)
    with open(path, 'r+b') as f:
        for offset in (0, size // 2, size - len(pattern)):
            f.seek(offset)
            f.write(pattern)
    return size


class OrderVpmemsTestCase(test.NoDBTestCase):

    def test_label_order_with_repeats(self):
        small_1 = resource('ns_s1', SMALL)
        small_2 = resource('ns_s2', SMALL)
        big = resource('ns_b1', BIG)
        ordered = vpmem.order_vpmems([big, small_2, small_1],
                                     ['SMALL', 'BIG', 'SMALL'])
        # Within one class the resources keep the order they came in.
        self.assertEqual(['ns_s2', 'ns_b1', 'ns_s1'],
                         [r.identifier for r in ordered])

    def test_labels_are_case_insensitive_like_resource_classes(self):
        big = resource('ns_b1', BIG)
        self.assertEqual([big], vpmem.order_vpmems([big], ['big']))

    def test_nothing(self):
        self.assertEqual([], vpmem.order_vpmems(None, []))
        self.assertEqual([], vpmem.order_vpmems([], None))

    def test_too_few_resources_for_a_label(self):
        exc = self.assertRaises(
            exception.VPMEMResourcesMismatch, vpmem.order_vpmems,
            [resource('ns_s1', SMALL), resource('ns_b1', BIG)],
            ['SMALL', 'BIG', 'SMALL'])
        message = exc.format_message()
        self.assertIn('label SMALL asks for 2 namespace(s) of %s, the '
                      'instance holds 1' % SMALL, message)
        self.assertIn('SMALL,BIG,SMALL', message)
        self.assertIn('ns_s1, ns_b1', message)

    def test_label_without_any_resource(self):
        exc = self.assertRaises(exception.VPMEMResourcesMismatch,
                                vpmem.order_vpmems,
                                [resource('ns_s1', SMALL)], ['BIG'])
        self.assertIn('label BIG', exc.format_message())

    def test_resource_no_label_asks_for(self):
        exc = self.assertRaises(
            exception.VPMEMResourcesMismatch, vpmem.order_vpmems,
            [resource('ns_s1', SMALL), resource('ns_b1', BIG)], ['SMALL'])
        self.assertIn('no label asks for ns_b1 (%s)' % BIG,
                      exc.format_message())

    def test_resources_without_labels(self):
        self.assertRaises(exception.VPMEMResourcesMismatch,
                          vpmem.order_vpmems,
                          [resource('ns_s1', SMALL)], [])


class DriverTestBase(test.NoDBTestCase):
    """A driver on emulated host cn-a, namespaces in a temporary dir."""

    NODE = 'cn-a'
    NAMESPACES = ['SMALL:ns_s1|ns_s2', 'BIG:ns_b1']

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.addCleanup(emulator.reset)
        self.pmem_dir = os.path.join(self.tmp, 'pmem')
        os.makedirs(self.pmem_dir)
        # BIG namespaces are made bigger than the file backend's default.
        with open(self.ns_path('ns_b1'), 'wb') as f:
            f.truncate(8 * MiB)
        self.flags(group='libvirt', connection_uri='emulated://' + self.NODE,
                   pmem_backend='file', pmem_file_dir=self.pmem_dir,
                   pmem_file_size_mb=4, pmem_namespaces=self.NAMESPACES)
        self.flags(group='compute', cpu_allocation_ratio=2.0,
                   ram_allocation_ratio=1.5, reserved_host_memory_mb=1024)
        self.drv = libvirt_driver.LibvirtDriver()
        self.drv.init_host('compute-a')
        self.rp_uuid = uuidutils.generate_uuid()
        self.offered = self.drv.get_vpmem_resources(self.NODE, self.rp_uuid)
        self.by_name = {r.identifier: r for r in self.offered}

    def ns_path(self, name):
        return os.path.join(self.pmem_dir, name)

    def make_instance(self, names, pmem='SMALL,BIG,SMALL'):
        extra_specs = {'hw:pmem': pmem} if pmem else {}
        flavor = objects.Flavor(name='pmem', flavorid='f-1', memory_mb=64,
                                vcpus=1, extra_specs=extra_specs)
        return objects.Instance(
            uuid=uuidutils.generate_uuid(), flavor=flavor,
            resources=objects.ResourceList(
                objects=[self.by_name[name] for name in names]))

    def foreign_copy(self, name, **changes):
        """A record of namespace ``name`` with some fields changed."""
        original = self.by_name[name]
        metadata = vpmem.copy_device(original.metadata)
        for key in ('devpath', 'size'):
            if key in changes:
                setattr(metadata, key, changes.pop(key))
        fields = {'provider_uuid': original.provider_uuid,
                  'resource_class': original.resource_class,
                  'identifier': original.identifier, 'metadata': metadata}
        fields.update(changes)
        return objects.Resource(**fields)

    def emulated_guest_uuids(self):
        return set(emulator.get_host(self.NODE).guests)


class InitAndDiscoveryTestCase(DriverTestBase):

    def test_bad_pmem_namespaces_stop_init_host_naming_the_entry(self):
        self.flags(group='libvirt', pmem_namespaces=['SMALL:ns_x', 'BIGns'])
        drv = libvirt_driver.LibvirtDriver()
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                drv.init_host, 'compute-a')
        self.assertEqual('BIGns', exc.kwargs['entry'])
        self.assertIn("'BIGns'", exc.format_message())

    def test_half_set_migration_data_ports_stop_init_host(self):
        self.flags(group='compute', migration_data_port_min=49200)
        exc = self.assertRaises(exception.InvalidConfiguration,
                                libvirt_driver.LibvirtDriver().init_host,
                                'compute-a')
        self.assertIn('migration_data_port_max = 0', exc.format_message())

    def test_namespace_listed_twice_stops_init_host(self):
        self.flags(group='libvirt',
                   pmem_namespaces=['SMALL:ns_x', 'BIG:ns_x'])
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                libvirt_driver.LibvirtDriver().init_host,
                                'compute-a')
        self.assertIn('BIG:ns_x', exc.format_message())

    def test_missing_libvirt_python_stops_init_host(self):
        self.flags(group='libvirt', connection_uri='qemu:///system')
        with mock.patch.dict(sys.modules, {'libvirt': None}):
            drv = libvirt_driver.LibvirtDriver()
            exc = self.assertRaises(exception.LibvirtPythonNotInstalled,
                                    drv.init_host, 'compute-a')
        self.assertIn('pip install libvirt-python', exc.format_message())

    def test_options_are_captured_when_built(self):
        # A second compute service in this process sets its own options
        # after the first driver was built.
        other_dir = os.path.join(self.tmp, 'pmem-b')
        self.flags(group='libvirt', connection_uri='emulated://cn-b',
                   pmem_file_dir=other_dir, pmem_namespaces=['BIG:nb0'])
        self.flags(group='compute', cpu_allocation_ratio=8.0)
        other = libvirt_driver.LibvirtDriver()
        other.init_host('compute-b')
        self.assertEqual([self.NODE], self.drv.get_available_nodes())
        self.assertEqual(['cn-b'], other.get_available_nodes())
        self.assertEqual(2.0, self.drv.get_inventory(self.NODE)['VCPU']
                         ['allocation_ratio'])
        self.assertEqual(8.0, other.get_inventory('cn-b')['VCPU']
                         ['allocation_ratio'])
        # A fresh init_host of the first driver still sees its own options.
        self.drv.init_host('compute-a')
        self.assertEqual(['ns_b1', 'ns_s1', 'ns_s2'],
                         sorted(self.drv.namespaces.by_name))
        self.assertEqual(['nb0'], sorted(other.namespaces.by_name))
        self.assertTrue(os.path.exists(os.path.join(other_dir, 'nb0')))

    def test_available_resource(self):
        emulator.get_host(self.NODE).configure(sockets=2, cores=4, threads=2,
                                               memory=16 * GiB)
        available = self.drv.get_available_resource(self.NODE)
        stats = os.statvfs(self.conf.state_path)
        self.assertEqual(16, available['vcpus'])
        self.assertEqual(16 * 1024, available['memory_mb'])
        self.assertEqual(stats.f_blocks * stats.f_frsize // GiB,
                         available['local_gb'])
        self.assertEqual('QEMU', available['hypervisor_type'])
        self.assertEqual(7002000, available['hypervisor_version'])
        self.assertEqual(self.NODE, available['hypervisor_hostname'])
        cpu_info = jsonutils.loads(available['cpu_info'])
        self.assertEqual('x86_64', cpu_info['arch'])
        self.assertEqual({'sockets': 2, 'cores': 4, 'threads': 2},
                         cpu_info['topology'])

    def test_unknown_node_is_refused(self):
        for method in (self.drv.get_available_resource,
                       self.drv.get_inventory):
            self.assertRaises(exception.ComputeHostNodeNotFound, method,
                              'cn-other')
        self.assertRaises(exception.ComputeHostNodeNotFound,
                          self.drv.get_vpmem_resources, 'cn-other',
                          self.rp_uuid)

    def test_inventory(self):
        emulator.get_host(self.NODE).configure(memory=16 * GiB)
        inventory = self.drv.get_inventory(self.NODE)
        cpus = emulator.get_host(self.NODE).cpus
        self.assertEqual({'total': cpus, 'reserved': 0, 'min_unit': 1,
                          'max_unit': cpus, 'step_size': 1,
                          'allocation_ratio': 2.0}, inventory['VCPU'])
        self.assertEqual({'total': 16384, 'reserved': 1024, 'min_unit': 1,
                          'max_unit': 16384, 'step_size': 1,
                          'allocation_ratio': 1.5}, inventory['MEMORY_MB'])
        self.assertEqual(1.0, inventory['DISK_GB']['allocation_ratio'])
        self.assertEqual({'total': 2, 'reserved': 0, 'min_unit': 1,
                          'max_unit': 2, 'step_size': 1,
                          'allocation_ratio': 1.0}, inventory[SMALL])
        self.assertEqual(1, inventory[BIG]['total'])
        self.assertEqual({'VCPU', 'MEMORY_MB', 'DISK_GB', SMALL, BIG},
                         set(inventory))

    def test_inventory_reserved_memory_never_above_total(self):
        emulator.get_host(self.NODE).configure(memory=512 * MiB)
        memory = self.drv.get_inventory(self.NODE)['MEMORY_MB']
        self.assertEqual(512, memory['total'])
        self.assertEqual(512, memory['reserved'])

    def test_inventory_omits_zero_counts(self):
        zero = {'total': 0, 'reserved': 0, 'min_unit': 1, 'max_unit': 0,
                'step_size': 1, 'allocation_ratio': 1.0}
        real = self.drv.namespaces.inventory()
        with mock.patch.object(
                self.drv.namespaces, 'inventory',
                return_value=dict(real, CUSTOM_PMEM_NAMESPACE_NONE=zero)):
            inventory = self.drv.get_inventory(self.NODE)
        self.assertNotIn('CUSTOM_PMEM_NAMESPACE_NONE', inventory)
        self.assertIn(SMALL, inventory)
        # And no local disk: no DISK_GB either.
        with mock.patch.object(libvirt_driver.os, 'statvfs',
                               return_value=mock.Mock(f_blocks=10,
                                                      f_frsize=4096)):
            self.assertNotIn('DISK_GB', self.drv.get_inventory(self.NODE))

    def test_inventory_without_namespaces(self):
        self.flags(group='libvirt', pmem_namespaces=[])
        drv = libvirt_driver.LibvirtDriver()
        drv.init_host('compute-a')
        self.assertEqual({'VCPU', 'MEMORY_MB', 'DISK_GB'},
                         set(drv.get_inventory(self.NODE)))
        self.assertEqual([], list(drv.get_vpmem_resources(self.NODE,
                                                          self.rp_uuid)))

    def test_inventory_before_init_host(self):
        drv = libvirt_driver.LibvirtDriver()
        drv.host.get_connection()
        exc = self.assertRaises(exception.VirtDriverNotInitialized,
                                drv.get_inventory, self.NODE)
        self.assertIn('init_host', exc.format_message())

    def test_vpmem_resources(self):
        self.assertIsInstance(self.offered, objects.ResourceList)
        self.assertEqual(['ns_s1', 'ns_s2', 'ns_b1'],
                         [r.identifier for r in self.offered])
        for res in self.offered:
            self.assertEqual(self.rp_uuid, res.provider_uuid)
            self.assertIsInstance(res.metadata, objects.LibvirtVPMEMDevice)
            self.assertEqual(res.identifier, res.metadata.name)
            self.assertEqual(self.ns_path(res.identifier),
                             res.metadata.devpath)
            self.assertEqual(2 * MiB, res.metadata.align)
        small = self.by_name['ns_s1']
        self.assertEqual((SMALL, 'SMALL', 4 * MiB),
                         (small.resource_class, small.metadata.label,
                          small.metadata.size))
        big = self.by_name['ns_b1']
        self.assertEqual((BIG, 'BIG', 8 * MiB),
                         (big.resource_class, big.metadata.label,
                          big.metadata.size))
        # Changing what was handed out does not change the driver's view.
        small.metadata.devpath = '/elsewhere'
        self.assertEqual(self.ns_path('ns_s1'),
                         self.drv.namespaces.by_name['ns_s1'].devpath)

    def test_cleanup_host_closes_the_connection(self):
        conn = self.drv.host.get_connection()
        self.drv.cleanup_host('compute-a')
        self.assertEqual(0, conn.isAlive())



class SpawnTestCase(DriverTestBase):

    def test_spawn_puts_namespaces_in_label_order(self):
        instance = self.make_instance(['ns_b1', 'ns_s2', 'ns_s1'])
        self.drv.spawn(self.context, instance,
                       image_meta={'kernel': None})
        guest = self.drv.host.get_guest(instance)
        self.assertEqual('instance-%s' % instance.uuid, guest.name)
        self.assertEqual(power_state.RUNNING,
                         self.drv.get_info(instance).state)
        conn = emulator.open('emulated://' + self.NODE)
        xml = conn.lookupByUUIDString(instance.uuid).XMLDesc(0)
        expected = [self.ns_path(name)
                    for name in ('ns_s2', 'ns_b1', 'ns_s1')]
        self.assertEqual(expected, domain_xml.nvdimm_paths(xml))
        for path in expected:
            self.assertTrue(os.path.isfile(path))
        # Sizes as defined: 4 MiB, 8 MiB, 4 MiB (migratable XML).
        migratable = guest.get_xml_desc(migratable=True)
        self.assertEqual(
            ['4096', '8192', '4096'],
            [m.findtext('./target/size') for m in
             domain_xml.ET.fromstring(migratable).findall(
                 "./devices/memory[@model='nvdimm']")])
        # Files are not devdax: no <pmem/>.
        self.assertNotIn('<pmem', migratable)
        self.assertEqual([instance.uuid], self.drv.list_instance_uuids())
        self.assertTrue(self.drv.instance_exists(instance))

    def test_spawn_without_vpmem(self):
        instance = self.make_instance([], pmem=None)
        self.drv.spawn(self.context, instance)
        self.assertEqual([], self.drv.host.get_guest(instance)
                         .get_nvdimm_paths())

    def test_spawn_with_kernel(self):
        instance = self.make_instance(['ns_b1'], pmem='BIG')
        self.drv.spawn(self.context, instance,
                       image_meta={'kernel': '/boot/vmlinuz',
                                   'cmdline': 'console=ttyS0'})
        xml = self.drv.host.get_guest(instance).get_xml_desc()
        self.assertIn('<kernel>/boot/vmlinuz</kernel>', xml)
        self.assertIn('<cmdline>console=ttyS0</cmdline>', xml)

    def test_spawn_failure_removes_the_definition(self):
        # QEMU refuses a backing file smaller than the device.
        os.truncate(self.ns_path('ns_b1'), 2 * MiB)
        instance = self.make_instance(['ns_b1'], pmem='BIG')
        exc = self.assertRaises(exception.InstanceSpawnFailed,
                                self.drv.spawn, self.context, instance)
        self.assertIn(instance.uuid, exc.format_message())
        self.assertIn('backing store size', exc.format_message())
        self.assertIsInstance(exc.__cause__, emulator.libvirtError)
        self.assertFalse(self.drv.instance_exists(instance))
        self.assertEqual(set(), self.emulated_guest_uuids())

    def test_spawn_refuses_resources_not_matching_the_flavor(self):
        instance = self.make_instance(['ns_s1', 'ns_b1'])
        exc = self.assertRaises(exception.InstanceSpawnFailed,
                                self.drv.spawn, self.context, instance)
        self.assertIsInstance(exc.__cause__,
                              exception.VPMEMResourcesMismatch)
        self.assertIn('label SMALL asks for 2', exc.format_message())
        self.assertEqual(set(), self.emulated_guest_uuids())

    def test_spawn_refuses_another_hosts_namespace(self):
        # Same name and path as ours (identical hosts), other provider.
        instance = self.make_instance([], pmem='BIG')
        instance.resources = objects.ResourceList(objects=[
            self.foreign_copy('ns_b1',
                              provider_uuid=uuidutils.generate_uuid())])
        exc = self.assertRaises(exception.InstanceSpawnFailed,
                                self.drv.spawn, self.context, instance)
        self.assertIn('not to this host', exc.format_message())
        self.assertEqual(set(), self.emulated_guest_uuids())

    def test_spawn_refuses_a_record_with_another_path(self):
        instance = self.make_instance([], pmem='BIG')
        instance.resources = objects.ResourceList(objects=[
            self.foreign_copy('ns_b1', devpath='/dev/dax9.0')])
        exc = self.assertRaises(exception.InstanceSpawnFailed,
                                self.drv.spawn, self.context, instance)
        self.assertIn('/dev/dax9.0', exc.format_message())
        self.assertEqual(set(), self.emulated_guest_uuids())

    def test_spawn_refuses_a_namespace_another_guest_uses(self):
        first = self.make_instance(['ns_b1'], pmem='BIG')
        self.drv.spawn(self.context, first)
        second = self.make_instance(['ns_b1'], pmem='BIG')
        exc = self.assertRaises(exception.InstanceSpawnFailed,
                                self.drv.spawn, self.context, second)
        self.assertIn('backs running domain instance-%s' % first.uuid,
                      exc.format_message())
        self.assertFalse(self.drv.instance_exists(second))

    def test_spawn_refuses_an_existing_domain(self):
        instance = self.make_instance(['ns_b1'], pmem='BIG')
        self.drv.spawn(self.context, instance)
        self.assertRaises(exception.InstanceExists, self.drv.spawn,
                          self.context, instance)
        self.assertEqual(power_state.RUNNING,
                         self.drv.get_info(instance).state)


class DestroyTestCase(DriverTestBase):

    def setUp(self):
        super().setUp()
        self.instance = self.make_instance(['ns_s1', 'ns_b1', 'ns_s2'])
        self.drv.spawn(self.context, self.instance)
        self.paths = [self.ns_path(n) for n in ('ns_s1', 'ns_b1', 'ns_s2')]
        self.sizes = [fill(path) for path in self.paths]

    def test_destroy_removes_the_guest_and_leaves_the_data(self):
        # The resource tracker erases afterwards, through erase_vpmems.
        self.drv.destroy(self.context, self.instance)
        self.assertFalse(self.drv.instance_exists(self.instance))
        self.assertEqual(set(), self.emulated_guest_uuids())
        for path in self.paths:
            self.assertEqual(0, first_nonzero(path))
        erased = self.drv.erase_vpmems(self.context, self.instance.resources)
        self.assertEqual(['ns_s1', 'ns_b1', 'ns_s2'],
                         [r.identifier for r in erased])
        for path, size in zip(self.paths, self.sizes, strict=True):
            self.assertIsNone(first_nonzero(path), path)
            self.assertEqual(size, os.path.getsize(path))

    def test_destroy_is_idempotent(self):
        self.drv.destroy(self.context, self.instance)
        self.drv.destroy(self.context, self.instance)
        self.assertFalse(self.drv.instance_exists(self.instance))
        self.assertEqual(power_state.NOSTATE,
                         self.drv.get_info(self.instance).state)

    def test_destroy_of_a_stopped_guest(self):
        self.drv.host.get_guest(self.instance).poweroff()
        self.assertEqual(power_state.SHUTDOWN,
                         self.drv.get_info(self.instance).state)
        self.drv.destroy(self.context, self.instance)
        self.assertFalse(self.drv.instance_exists(self.instance))

    def test_erase_refused_while_a_guest_runs_on_the_namespace(self):
        exc = self.assertRaises(exception.VPMEMEraseRefused,
                                self.drv.erase_vpmems, self.context,
                                self.instance.resources)
        self.assertIn('backs running domain', str(exc))
        for path in self.paths:
            self.assertEqual(0, first_nonzero(path))

    def test_destroy_failure_is_reported(self):
        guest = self.drv.host.get_guest(self.instance)
        error = emulator.libvirtError(
            'boom', code=emulator.VIR_ERR_INTERNAL_ERROR)
        with mock.patch.object(self.drv.host, 'get_guest',
                               return_value=guest), \
                mock.patch.object(guest, 'poweroff', side_effect=error):
            exc = self.assertRaises(exception.InstanceDestroyFailed,
                                    self.drv.destroy, self.context,
                                    self.instance)
        self.assertIn('boom', exc.format_message())
        # Nothing was erased while the guest may still run.
        for path in self.paths:
            self.assertEqual(0, first_nonzero(path))

    def test_get_info_and_list(self):
        self.assertEqual(virt_driver.InstanceInfo(state=power_state.RUNNING),
                         self.drv.get_info(self.instance))
        self.assertEqual([self.instance.uuid],
                         self.drv.list_instance_uuids())
        other = self.make_instance([], pmem=None)
        self.assertFalse(self.drv.instance_exists(other))
        self.assertEqual(power_state.NOSTATE,
                         self.drv.get_info(other).state)


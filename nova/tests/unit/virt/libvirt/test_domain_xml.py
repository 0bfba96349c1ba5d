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

"""Tests of the pure domain XML builders."""

import xml.etree.ElementTree as ET

from nova import test
from nova.virt.libvirt import domain_xml

MiB = 1 << 20
UUID = '6f1c1f0e-9d1e-4c55-9a51-3f1f6c9b7a10'


def _spec(nvdimms=(), **kw):
    values = dict(name='instance-1', uuid=UUID, memory_mb=512, vcpus=2,
                  virt_type='qemu', nvdimms=nvdimms)
    values.update(kw)
    return domain_xml.GuestSpec(**values)


def _nvdimm(path, size_mib=64, devdax=False):
    return domain_xml.NvdimmSpec(path=path, size=size_mib * MiB,
                                 align=2 * MiB, devdax=devdax)


class TestBuildDomain(test.NoDBTestCase):

    def test_memory_is_ram_plus_nvdimms(self):
        root = domain_xml.build_domain(
            _spec((_nvdimm('/p/ns0', 64), _nvdimm('/p/ns1', 128))))
        total = str(512 * 1024 + 192 * 1024)
        self.assertEqual(total, root.findtext('memory'))
        self.assertEqual(total, root.findtext('maxMemory'))
        self.assertEqual('2', root.find('maxMemory').get('slots'))
        cell = root.find('./cpu/numa/cell')
        self.assertEqual(str(512 * 1024), cell.get('memory'))
        self.assertEqual('0-1', cell.get('cpus'))
        self.assertIsNotNone(root.find('./features/acpi'))

    def test_nvdimms_in_given_order_with_sizes(self):
        root = domain_xml.build_domain(
            _spec((_nvdimm('/p/b', 128), _nvdimm('/p/a', 64))))
        mems = root.findall('./devices/memory')
        self.assertEqual(['/p/b', '/p/a'],
                         [m.findtext('./source/path') for m in mems])
        self.assertEqual([str(128 * 1024), str(64 * 1024)],
                         [m.findtext('./target/size') for m in mems])
        for mem in mems:
            self.assertEqual('nvdimm', mem.get('model'))
            self.assertEqual('shared', mem.get('access'))
            self.assertEqual('2048', mem.findtext('./source/alignsize'))
            self.assertEqual('0', mem.findtext('./target/node'))
            self.assertEqual(str(domain_xml.NVDIMM_LABEL_KIB),
                             mem.findtext('./target/label/size'))

    def test_pmem_only_for_devdax(self):
        root = domain_xml.build_domain(
            _spec((_nvdimm('/dev/dax0.0', devdax=True),
                   _nvdimm('/p/file', devdax=False))))
        dax, plain = root.findall('./devices/memory')
        self.assertIsNotNone(dax.find('./source/pmem'))
        self.assertIsNone(plain.find('./source/pmem'))

    def test_guest_without_nvdimm_has_no_max_memory(self):
        root = domain_xml.build_domain(_spec())
        self.assertIsNone(root.find('maxMemory'))
        self.assertEqual([], root.findall('./devices/memory'))
        self.assertEqual(str(512 * 1024), root.findtext('memory'))

    def test_kernel_and_virt_type(self):
        root = domain_xml.build_domain(
            _spec(kernel='/k/guest.elf', cmdline='x=1', virt_type='kvm'))
        self.assertEqual('kvm', root.get('type'))
        self.assertEqual('/k/guest.elf', root.findtext('./os/kernel'))
        self.assertEqual('x=1', root.findtext('./os/cmdline'))

    def test_nvdimm_paths_round_trip(self):
        xml = domain_xml.guest_xml(
            _spec((_nvdimm('/p/ns1'), _nvdimm('/p/ns0'))))
        ET.fromstring(xml)  # well-formed
        self.assertEqual(['/p/ns1', '/p/ns0'], domain_xml.nvdimm_paths(xml))

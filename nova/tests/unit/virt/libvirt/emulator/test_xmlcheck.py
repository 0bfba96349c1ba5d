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

"""Domain XML rules at define, start and XMLDesc time."""

import xml.etree.ElementTree as ET

from nova.tests.unit.virt.libvirt.emulator import base
from nova.virt.libvirt import emulator as libvirt
from nova.virt.libvirt.emulator import xmlcheck


class ReportXMLTest(base.EmulatorTestCase):
    """The XML that worked on real libvirt 9 / QEMU 7.2, and its breakages."""

    def setUp(self):
        super().setUp()
        self.conn = libvirt.open('emulated://xml-host')
        self.uuid = self.new_uuid()
        self.nv_path = self.make_file('g-nvdimm.img', 64 * base.MiB)
        self.xml = base.REPORT_XML % {'name': 'g', 'uuid': self.uuid,
                                      'path': self.nv_path}

    def test_report_xml_defines_and_starts(self):
        dom = self.conn.defineXML(self.xml)
        dom.createWithFlags(0)
        self.assertEqual([libvirt.VIR_DOMAIN_RUNNING,
                          libvirt.VIR_DOMAIN_RUNNING_BOOTED], dom.state())
        state, max_kib, cur_kib, vcpus, _cpu = dom.info()
        self.assertEqual((libvirt.VIR_DOMAIN_RUNNING, 196608, 196608, 1),
                         (state, max_kib, cur_kib, vcpus))

    def test_live_xml_shows_guest_visible_nvdimm_size(self):
        dom = self.conn.defineXML(self.xml)
        dom.create()
        live = ET.fromstring(dom.XMLDesc(0))
        self.assertEqual(str(dom.ID()), live.get('id'))
        mem = live.find("./devices/memory[@model='nvdimm']")
        # 64 MiB - 128 KiB label, aligned down to 2 MiB: 62 MiB.
        self.assertEqual('63488', mem.findtext('./target/size'))
        self.assertEqual('nvdimm0', mem.find('alias').get('name'))
        self.assertEqual(self.nv_path, mem.findtext('./source/path'))
        # The migratable and inactive forms keep what was defined.
        for flags in (libvirt.VIR_DOMAIN_XML_MIGRATABLE,
                      libvirt.VIR_DOMAIN_XML_INACTIVE):
            root = ET.fromstring(dom.XMLDesc(flags))
            self.assertIsNone(root.get('id'))
            self.assertEqual('65536', root.findtext(
                "./devices/memory[@model='nvdimm']/target/size"))

    def _refused_at_define(self, code, message, xml):
        self.assertLibvirtError(code, message, self.conn.defineXML, xml)
        self.assertEqual([], self.conn.listAllDomains())

    def test_total_memory_too_small(self):
        xml = self.xml.replace("<memory unit='KiB'>196608</memory>",
                               "<memory unit='KiB'>131072</memory>")
        self._refused_at_define(
            libvirt.VIR_ERR_XML_ERROR,
            'XML error: Total size of memory devices exceeds the total '
            'memory size', xml)

    def test_uuid_inside_nvdimm(self):
        xml = self.xml.replace(
            "<memory model='nvdimm' access='shared'>",
            "<memory model='nvdimm' access='shared'><uuid>%s</uuid>"
            % self.new_uuid())
        self._refused_at_define(
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            'unsupported configuration: UUID is not supported for NVDIMM '
            'device', xml)

    def test_no_max_memory(self):
        xml = self.xml.replace(
            "<maxMemory slots='16' unit='KiB'>4194304</maxMemory>", '')
        self._refused_at_define(libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                                "'maxMemory' is not defined", xml)

    def test_no_numa_cell(self):
        xml = self.xml.replace(
            "<cpu><numa><cell id='0' cpus='0' memory='131072' unit='KiB'/>"
            "</numa></cpu>", '')
        self._refused_at_define(libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                                'At least one numa node', xml)

    def test_not_enough_slots(self):
        xml = self.xml.replace("slots='16'", "slots='0'")
        self._refused_at_define(libvirt.VIR_ERR_XML_ERROR,
                                'memory slot count must be specified', xml)

    def test_node_must_be_a_numa_cell(self):
        xml = self.xml.replace('<node>0</node>', '<node>1</node>')
        self._refused_at_define(
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            "can't add memory backend for guest node '1' as the guest has "
            "only '1' NUMA nodes configured", xml)

    def test_label_too_small(self):
        xml = self.xml.replace(
            "<label><size unit='KiB'>128</size>",
            "<label><size unit='KiB'>64</size>")
        self._refused_at_define(libvirt.VIR_ERR_XML_ERROR,
                                'nvdimm label must be at least 128KiB', xml)

    def test_missing_path(self):
        xml = self.xml.replace('<path>%s</path>' % self.nv_path, '')
        self._refused_at_define(libvirt.VIR_ERR_XML_ERROR,
                                "path is required for model 'nvdimm'", xml)

    def test_missing_name(self):
        xml = self.xml.replace('<name>g</name>', '')
        self._refused_at_define(libvirt.VIR_ERR_NO_NAME,
                                'missing name information', xml)

    def test_malformed_uuid(self):
        xml = self.xml.replace(self.uuid, 'not-a-uuid')
        self._refused_at_define(libvirt.VIR_ERR_XML_ERROR,
                                'malformed uuid element', xml)

    def test_missing_memory(self):
        without_memory = base.guest_xml('g', self.uuid, numa=False, slots=0)
        xml = without_memory.replace(
            "<memory unit='KiB'>16384</memory>", '')
        self._refused_at_define(libvirt.VIR_ERR_XML_ERROR,
                                'Memory size must be specified', xml)

    def test_not_well_formed(self):
        self._refused_at_define(libvirt.VIR_ERR_XML_DETAIL,
                                '(domain_definition):', self.xml[:-5])

    def test_wrong_root_and_virt_type(self):
        self._refused_at_define(libvirt.VIR_ERR_XML_ERROR,
                                'unexpected root element <network>',
                                '<network/>')
        self._refused_at_define(
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            "does not support virt type 'xen'",
            self.xml.replace("type='kvm'", "type='xen'"))

    def test_unknown_unit(self):
        xml = self.xml.replace("<memory unit='KiB'>196608",
                               "<memory unit='parsec'>196608")
        self._refused_at_define(libvirt.VIR_ERR_INVALID_ARG,
                                "unknown suffix 'parsec'", xml)

    def test_no_acpi_is_refused_at_start(self):
        xml = self.xml.replace('<features><acpi/></features>', '')
        dom = self.conn.defineXML(xml)
        self.assertLibvirtError(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            'memory hotplug is not enabled: missing acpi device or acpi '
            'disabled', dom.create)
        self.assertEqual([libvirt.VIR_DOMAIN_SHUTOFF], dom.state()[:1])

    def test_missing_backing_file_is_refused_at_start(self):
        missing = self.path('absent.img')
        dom = self.conn.defineXML(self.xml.replace(self.nv_path, missing))
        exc = self.assertLibvirtError(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            "could not open '%s': No such file or directory" % missing,
            dom.create)
        self.assertTrue(str(exc).startswith(
            'internal error: qemu unexpectedly closed the monitor: '))
        self.assertEqual(0, dom.isActive())

    def test_small_backing_file_is_refused_at_start(self):
        small = self.make_file('small.img', 32 * base.MiB)
        dom = self.conn.defineXML(self.xml.replace(self.nv_path, small))
        self.assertLibvirtError(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            "backing store size 0x2000000 does not match 'size' option "
            "0x4000000", dom.create)

    def test_backing_file_used_by_another_running_guest(self):
        self.conn.defineXML(self.xml).create()
        other = self.conn.defineXML(base.REPORT_XML % {
            'name': 'other', 'uuid': self.new_uuid(),
            'path': self.nv_path})
        self.assertLibvirtError(libvirt.VIR_ERR_INTERNAL_ERROR,
                                "in use by domain 'g'", other.create)


class UnitsAndSizesTest(base.EmulatorTestCase):

    def test_units(self):
        root = ET.fromstring("<memory unit='MiB'>3</memory>")
        self.assertEqual(3 * base.MiB, xmlcheck._scaled(root, 'x'))
        root = ET.fromstring("<memory unit='b'>1000</memory>")
        # libvirt keeps KiB, rounding up.
        self.assertEqual(base.KiB, xmlcheck._scaled(root, 'x'))
        root = ET.fromstring("<memory>4</memory>")
        self.assertEqual(4 * base.KiB, xmlcheck._scaled(root, 'x'))
        root = ET.fromstring("<memory unit='GiB'>2</memory>")
        self.assertEqual(2 * base.GiB, xmlcheck._scaled(root, 'x'))

    def test_visible_size(self):
        spec = xmlcheck.parse(base.guest_xml(
            'g', self.new_uuid(), nvdimms=[('/x', 4096)]))
        nvdimm = spec.nvdimms[0]
        self.assertEqual(4 * base.MiB, nvdimm.size)
        self.assertEqual(2 * base.MiB, nvdimm.visible_size)
        spec = xmlcheck.parse(base.guest_xml(
            'g', self.new_uuid(), nvdimms=[('/x', 4096)], align_kib=None,
            label_kib=None))
        self.assertEqual(4 * base.MiB, spec.nvdimms[0].visible_size)

    def test_missing_uuid_is_generated(self):
        xml = base.guest_xml('g', 'X').replace('<uuid>X</uuid>', '')
        spec = xmlcheck.parse(xml)
        self.assertEqual(36, len(spec.uuid))
        self.assertIn(spec.uuid, spec.to_xml())

    def test_abi_check_messages(self):
        uuid = self.new_uuid()
        source = xmlcheck.parse(base.guest_xml(
            'g', uuid, nvdimms=[('/a', 4096)]))
        cases = [
            (dict(memory_kib=64 * 1024), 'Target domain max memory 65536 '
             'does not match source 20480'),
            (dict(max_memory_kib=9 * 1024 * 1024),
             "Target maximum memory size '9437184' doesn't match source"),
            (dict(nvdimms=[('/b', 8192)], ram_kib=12 * 1024),
             "Target memory device size '8192' doesn't match source memory "
             "device size '4096'"),
            (dict(nvdimms=[('/b', 4096)], label_kib=256),
             "Target NVDIMM label size '256' doesn't match source NVDIMM "
             "label size '128'"),
            (dict(nvdimms=[('/b', 4096)], align_kib=4),
             "Target memory device alignment '4' doesn't match"),
            (dict(nvdimms=[('/b', 2048), ('/c', 2048)]),
             'Target domain memory device count 2 does not match source 1'),
        ]
        for kwargs, message in cases:
            params = dict(nvdimms=[('/a', 4096)],
                          max_memory_kib=20480 + 4 * 1024 * 1024)
            params.update(kwargs)
            target = xmlcheck.parse(base.guest_xml('g', uuid, **params))
            exc = self.assertRaises(libvirt.libvirtError,
                                    xmlcheck.check_abi, source, target)
            self.assertEqual(libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                             exc.get_error_code())
            self.assertIn(message, str(exc))
        # A different path is what a destination XML is for.
        target = xmlcheck.parse(base.guest_xml(
            'g', uuid, nvdimms=[('/elsewhere', 4096)]))
        xmlcheck.check_abi(source, target)

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

"""The emulated dirty rate calculation (virDomainStartDirtyRateCalc)."""

from nova.tests.unit.virt.libvirt.emulator import base
from nova.virt.libvirt import emulator as libvirt

STATS = libvirt.VIR_DOMAIN_STATS_DIRTYRATE


class DirtyRateTest(base.EmulatorTestCase):

    def setUp(self):
        super().setUp()
        self.conn = libvirt.open('emulated://rate')
        self.host = libvirt.get_host('rate')
        self.uuid = self.new_uuid()
        path = self.make_file('nv.img', 64 * base.MiB)
        self.dom = self.conn.defineXML(base.guest_xml(
            'g', self.uuid, nvdimms=[(path, 64 * 1024)]))

    def stats(self):
        [(dom, record)] = self.conn.domainListGetStats([self.dom], STATS)
        self.assertIs(self.dom, dom)
        return record

    def test_measures_the_workload(self):
        self.dom.create()
        # 2560 pages/s = 10 MiB/s, spread over 16k pages: few repeats.
        self.host.set_workload(self.uuid, dirty_pages_per_second=2560)
        self.assertEqual({'dirtyrate.calc_status': 0}, self.stats())
        self.assertEqual(0, self.dom.startDirtyRateCalc(1))
        self.assertEqual(libvirt.VIR_DOMAIN_DIRTYRATE_MEASURING,
                         self.stats()['dirtyrate.calc_status'])
        self.wait_for(lambda: self.stats()['dirtyrate.calc_status'] ==
                      libvirt.VIR_DOMAIN_DIRTYRATE_MEASURED, timeout=5)
        record = self.stats()
        self.assertEqual(1, record['dirtyrate.calc_period'])
        self.assertIn(record['dirtyrate.megabytes_per_second'], (7, 8, 9, 10))

    def test_quiet_guest_measures_zero(self):
        self.dom.create()
        self.dom.startDirtyRateCalc(1)
        self.wait_for(lambda: self.stats()['dirtyrate.calc_status'] ==
                      libvirt.VIR_DOMAIN_DIRTYRATE_MEASURED, timeout=5)
        self.assertEqual(0, self.stats()['dirtyrate.megabytes_per_second'])

    def test_rewrites_of_a_page_count_once(self):
        self.dom.create()
        # 64 pages rewritten 2000 times a second: 256 KiB/s, not 8 MiB/s.
        self.host.set_workload(self.uuid, dirty_pages_per_second=2000,
                               pages=range(0, 64))
        self.dom.startDirtyRateCalc(1)
        self.wait_for(lambda: self.stats()['dirtyrate.calc_status'] ==
                      libvirt.VIR_DOMAIN_DIRTYRATE_MEASURED, timeout=5)
        self.assertEqual(0, self.stats()['dirtyrate.megabytes_per_second'])

    def test_refusals(self):
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID, None,
                                self.dom.startDirtyRateCalc, 1)
        self.dom.create()
        self.assertLibvirtError(libvirt.VIR_ERR_INVALID_ARG, None,
                                self.dom.startDirtyRateCalc, 0)
        self.assertLibvirtError(libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED, None,
                                self.dom.startDirtyRateCalc, 1, 2)

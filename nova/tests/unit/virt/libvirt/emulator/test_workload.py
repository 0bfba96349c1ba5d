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

"""The emulated guest's writer and its verifier."""

import os
import time

from nova.tests.unit.virt.libvirt.emulator import base
from nova.virt.libvirt import emulator as libvirt
from nova.virt.libvirt.emulator import workload


class StampTest(base.EmulatorTestCase):

    def test_stamp_round_trip(self):
        dom_uuid = self.new_uuid()
        page = workload.stamp_page(dom_uuid, 7, 42)
        self.assertEqual(4096, len(page))
        self.assertEqual((dom_uuid, 7, 42), workload.read_stamp(page))
        self.assertNotEqual(page, workload.stamp_page(dom_uuid, 7, 43))
        self.assertNotEqual(page, workload.stamp_page(dom_uuid, 8, 42))
        broken = page[:100] + b'\x00' + page[101:]
        self.assertIsNone(workload.read_stamp(broken))
        self.assertIsNone(workload.read_stamp(bytes(4096)))


class GuestWriterTest(base.EmulatorTestCase):

    def setUp(self):
        super().setUp()
        self.conn = libvirt.open('emulated://writer')
        self.host = libvirt.get_host('writer')
        self.uuid = self.new_uuid()
        self.paths = [self.make_file('nv%d.img' % i, 4 * base.MiB)
                      for i in range(2)]
        self.dom = self.conn.defineXML(base.guest_xml(
            'g', self.uuid, nvdimms=[(p, 4096) for p in self.paths]))

    def test_writes_only_while_running_and_verifies(self):
        load = self.host.set_workload(self.uuid, dirty_pages_per_second=2000,
                                      pages=0.5)
        time.sleep(0.05)
        self.assertEqual(0, load.pages_written)   # not started yet
        self.dom.create()
        self.wait_for(lambda: load.pages_written > 100)
        self.dom.suspend()
        written = load.pages_written
        time.sleep(0.1)
        self.assertEqual(written, load.pages_written)
        for path in self.paths:
            ok, bad = load.verify(path)
            self.assertTrue(ok, bad)
        # Both namespaces got writes, only in the first half (0.5) of the
        # guest-visible pages (4 MiB - label, aligned down: 512 pages).
        for index in (0, 1):
            pages = load.records[index]
            self.assertTrue(pages)
            self.assertLess(max(pages), 256)
        self.dom.resume()
        self.wait_for(lambda: load.pages_written > written)
        self.dom.destroy()
        stopped_at = load.pages_written
        time.sleep(0.05)
        self.assertEqual(stopped_at, load.pages_written)
        self.assertIs(load, libvirt.find_workload(self.uuid))

    def test_verify_finds_a_lost_write(self):
        self.dom.create()
        load = self.host.set_workload(self.uuid, dirty_pages_per_second=1000,
                                      pages=range(0, 8), seed=1)
        self.wait_for(lambda: len(load.records[0]) >= 3)
        self.dom.suspend()
        page = sorted(load.records[0])[1]
        fd = os.open(self.paths[0], os.O_RDWR)
        try:
            os.pwrite(fd, bytes(4096), page * 4096)
        finally:
            os.close(fd)
        ok, bad = load.verify(self.paths[0])
        self.assertFalse(ok)
        self.assertEqual([page], bad)
        self.assertRaises(ValueError, load.verify, self.path('other'))

    def test_set_workload_replaces_the_previous_one(self):
        self.dom.create()
        load = self.host.set_workload(self.uuid)
        self.assertIs(load, self.host.get_workload(self.uuid))
        replaced = self.host.set_workload(self.uuid, 10)
        self.assertIsNot(load, replaced)

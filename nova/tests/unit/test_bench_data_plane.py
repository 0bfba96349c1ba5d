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

"""tools/bench/data_plane.py: its pure parts, without libvirt."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from nova.virt.libvirt import local_hosts
from tools.bench import data_plane

XML = """<domain type='qemu'><name>instance-1</name><uuid>u-1</uuid>
<devices><memory model='nvdimm' access='shared'><source>
<path>/a/ns0</path></source></memory><memory model='dimm'><source>
<path>/keep</path></source></memory></devices></domain>"""


def _utc(epoch):
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(epoch)) + \
        '.%03d' % round((epoch % 1) * 1000)


def _local(epoch):
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(epoch)) + \
        '.%03d' % round((epoch % 1) * 1000)


def _zombie(pid):
    with open('/proc/%d/stat' % pid) as f:
        return ') Z' in f.read()


class TestDataPlane(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def _write(self, name, lines):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path

    def test_skipped_section_keeps_contract_keys_null(self):
        section = data_plane._skipped('no libvirt', (256, 1024))
        self.assertEqual('no libvirt', section['skipped'])
        for size in ('256', '1024'):
            self.assertIsNone(section[size]['api_s'])
            self.assertIsNone(section[size]['bare_libvirt_s'])
            self.assertIsNone(section[size]['raw_loopback_s'])
            self.assertEqual('no libvirt', section[size]['skipped'])
        self.assertIn('Skipped: no libvirt', data_plane.markdown(section))

    def test_bare_xml_changes_name_uuid_and_nvdimm_only(self):
        root = ET.fromstring(data_plane.bare_xml(XML, 'bare', 'u-2',
                                                 '/b/bare.img'))
        self.assertEqual('bare', root.findtext('name'))
        self.assertEqual('u-2', root.findtext('uuid'))
        paths = [m.findtext('source/path') for m in root.iter('memory')]
        self.assertEqual(['/b/bare.img', '/keep'], paths)

    def test_phases_from_logs(self):
        t = 1796540000.0
        nova = self._write('nova.log', [
            '%s 1 INFO x [-] Live migration of i-1 to b (u) starts: flags'
            % _local(t + 1.5),
            '%s 1 INFO x [-] Live migration of i-1 to b completed: r'
            % _local(t + 4.0),
            '%s 1 INFO x [-] Namespaces given up by instance i-1 on a: '
            'erased ns0 (erase took 0.12s)' % _local(t + 4.3)])
        source = self._write('a.log', [
            '%s+0000: 7: debug : qemuDomainStartDirtyRateCalc:1 : x'
            % _utc(t + 0.5),
            '%s+0000: 7: info : qemuMonitorJSONIOProcessLine:203 : '
            'event={"event": "MIGRATION", "data": {"status": "active"}}'
            % _utc(t + 2.5),
            '%s+0000: 7: info : qemuMonitorJSONIOProcessLine:203 : '
            'event={"event": "MIGRATION", "data": {"status": "completed"}}'
            % _utc(t + 3.0),
            '%s+0000: 7: debug : qemuProcessStop:8352 : Shutting down '
            'vm=0x1 name=instance-i-1 id=1' % _utc(t + 3.25)])
        dest = self._write('b.log', [])
        marks = data_plane.marks_of_run(nova, source, dest, 'i-1', t,
                                        t + 4.2, t + 4.5)
        phases = data_plane.phases_from_marks(marks)
        self.assertEqual({'api_conductor': 0.5, 'preflight': 1.0,
                          'dest_qemu_start': 1.0, 'copy': 0.5,
                          'switchover': 0.25, 'libvirt_tail': 0.75,
                          'post': 0.2, 'erase': 0.12}, phases)

    def test_log_lines_outside_the_run_are_ignored(self):
        t = 1796540000.0
        path = self._write('a.log', [
            '%s+0000: 7: debug : before' % _utc(t - 0.5),
            '%s+0000: 7: debug : inside' % _utc(t + 0.5),
            '%s+0000: 7: debug : after' % _utc(t + 1.5)])
        lines = data_plane.read_log(path, data_plane._LIBVIRT_TS,
                                    data_plane._utc_epoch, t, t + 1)
        self.assertEqual(['inside'], [text for _when, text in lines])

    def test_missing_marks_give_none(self):
        phases = data_plane.phases_from_marks({'posted': 1.0,
                                               'completed_seen': 2.0})
        self.assertIsNone(phases['copy'])
        self.assertIsNone(phases['libvirt_tail'])

    def test_raw_loopback_copies_every_byte(self):
        path = os.path.join(self.dir, 'f')
        size = 3 * data_plane.MiB + 5
        with open(path, 'wb') as f:
            f.write(os.urandom(size))
        self.assertGreater(data_plane.raw_loopback_seconds(path, size), 0)

    def test_qemu_zombie_recognized_by_name(self):
        qemu = os.path.join(self.dir, 'qemu-system-x86_64')
        shutil.copy('/bin/true', qemu)
        other = subprocess.Popen(['/bin/true'])
        child = subprocess.Popen([qemu])
        deadline = time.monotonic() + 10
        while not (local_hosts._is_qemu_zombie(child.pid) and
                   child.pid in local_hosts._children()):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        while not _zombie(other.pid):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        self.assertFalse(local_hosts._is_qemu_zombie(other.pid))
        child.wait()
        other.wait()
        self.assertFalse(local_hosts._is_qemu_zombie(child.pid))

    def test_files_like_ours(self):
        path = os.path.join(self.dir, 'ns')
        data_plane.make_allocated(path, 4 * data_plane.MiB)
        self.assertEqual(4 * data_plane.MiB, os.path.getsize(path))
        self.assertGreaterEqual(data_plane.allocated_bytes(path),
                                4 * data_plane.MiB)
        with open(path, 'r+b') as f:
            f.write(b'x' * 4096)
        data_plane.erase_allocated(path)
        with open(path, 'rb') as f:
            self.assertEqual(b'\0' * 4096, f.read(4096))
        self.assertGreaterEqual(data_plane.allocated_bytes(path),
                                4 * data_plane.MiB)
        data_plane.punch_holes(path)
        self.assertLess(data_plane.allocated_bytes(path), data_plane.MiB)

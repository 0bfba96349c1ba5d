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

"""Extents, copies and pacing."""

import os
import time

from nova.tests.unit.virt.libvirt.emulator import base
from nova.virt.libvirt.emulator import transfer

MiB = base.MiB


class TransferTest(base.EmulatorTestCase):

    def _open(self, path):
        fd = os.open(path, os.O_RDWR)
        self.addCleanup(os.close, fd)
        return fd

    def test_extents_cover_the_file(self):
        fd = self._open(self.make_file('sparse.img', 8 * MiB))
        os.pwrite(fd, b'x' * 5000, 3 * MiB)
        found = list(transfer.extents(fd, 8 * MiB))
        self.assertEqual(0, found[0][0])
        self.assertEqual(8 * MiB, sum(length for _o, length, _d in found))
        data = [(o, n) for o, n, is_data in found if is_data]
        self.assertTrue(data)
        for offset, length in data:
            self.assertEqual(0, offset % 4096)
            self.assertEqual(0, length % 4096)
        self.assertTrue(any(o <= 3 * MiB < o + n for o, n in data))
        self.assertLess(sum(n for _o, n in data), 2 * MiB)
        tail = list(transfer.extents(fd, 8 * MiB, start=4 * MiB))
        self.assertEqual([(4 * MiB, 4 * MiB, False)], tail)

    def test_zero_range_only_touches_data(self):
        fd = self._open(self.make_file('full.img', 2 * MiB, fill=b'\xa5'))
        transfer.zero_range(fd, 4096, MiB)
        self.assertEqual(b'\xa5' * 4096, os.pread(fd, 4096, 0))
        self.assertEqual(bytes(MiB), os.pread(fd, MiB, 4096))
        self.assertEqual(b'\xa5' * 4096, os.pread(fd, 4096, MiB + 4096))

    def test_copy_range(self):
        src = self._open(self.make_file('src.img', MiB, random=True))
        dst = self._open(self.make_file('dst.img', MiB))
        transfer.copy_range(src, dst, 8192, 3 * 4096)
        self.assertEqual(os.pread(src, 3 * 4096, 8192),
                         os.pread(dst, 3 * 4096, 8192))
        self.assertEqual(bytes(8192), os.pread(dst, 8192, 0))

    def test_page_runs(self):
        self.assertEqual([(1, 3), (7, 1), (9, 2)],
                         transfer.page_runs({3, 1, 2, 7, 9, 10}))

    def test_pacer_takes_the_bandwidth_time_and_checks(self):
        checks = []
        pacer = transfer.Pacer(lambda: 10 * MiB,
                               lambda: checks.append(1))
        start = time.monotonic()
        for _ in range(4):
            pacer.charge(MiB)
        self.assertGreater(time.monotonic() - start, 0.35)
        self.assertGreater(len(checks), 4)
        self.assertEqual(MiB // 2 - (MiB // 2) % 4096, pacer.slice_bytes())

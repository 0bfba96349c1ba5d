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

"""Tests of the stamp guest's host side: reading back what it wrote.

The files are made here the way the guest writes them (stamp.S), so the
checks of :func:`devguest.verify` are tested without QEMU: an exact image
passes, a lost write, a torn page or a misplaced page each fails naming
the page.
"""

import os
import struct

import fixtures

from nova import test
from nova.virt.libvirt import devguest

MiB = 1 << 20
PAGE = devguest.PAGE


class StampImage:
    """Namespace files as the guest leaves them at (pass, cursor)."""

    def __init__(self, directory, count=2, size=8 * MiB):
        self.paths = [os.path.join(directory, 'ns%d' % i)
                      for i in range(count)]
        self.size = size
        self.pages_per_file = devguest.guest_pages(size)
        for path in self.paths:
            with open(path, 'wb') as f:
                f.truncate(size)

    def locate(self, page_number):
        index, offset = divmod(page_number, self.pages_per_file)
        return self.paths[index], offset * PAGE

    def write_page(self, page_number, data):
        path, offset = self.locate(page_number)
        with open(path, 'r+b') as f:
            f.seek(offset)
            f.write(data)

    def stamp(self, pass_number, cursor):
        total = self.pages_per_file * len(self.paths)
        for number in range(1, total):
            wanted = pass_number if number <= cursor else pass_number - 1
            self.write_page(number, devguest.expected_page(number, wanted))
        chunks = total // devguest.CHUNK_PAGES
        control = struct.pack('<IIII4s4sII', devguest.CTRL_MAGIC,
                              pass_number, cursor, 12345, b'HALT', b'STOP',
                              0, chunks)
        bitmap = bytes([1] * chunks + [0] * (512 - chunks))
        with open(self.paths[0], 'r+b') as f:
            f.write(control)
            f.seek(64)
            f.write(bitmap)


class VerifyTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.image = StampImage(self.useFixture(fixtures.TempDir()).path)
        # Two files of 6 MiB mapped (8 MiB minus label, rounded down):
        # pages 0..1535 in ns0, 1536..3071 in ns1. Mid-pass 3.
        self.image.stamp(pass_number=3, cursor=2000)

    def test_control_page(self):
        control = devguest.read_control(self.image.paths[0])
        self.assertEqual((3, 2000, 12345, b'HALT', 0),
                         (control.pass_number, control.cursor,
                          control.written, control.status,
                          control.first_page))
        self.assertEqual(tuple(range(6)), control.present_chunks)
        self.assertIsNone(devguest.read_control(self.image.paths[1]))

    def test_exact_image_passes(self):
        report = devguest.verify(self.image.paths)
        self.assertTrue(report.ok, str(report))
        self.assertEqual(3071, report.pages_checked)
        self.assertEqual(3071, report.pages_stamped)

    def test_lost_write_is_found(self):
        # Page 1999 was written in pass 3, but the file has pass 2.
        self.image.write_page(1999, devguest.expected_page(1999, 2))
        report = devguest.verify(self.image.paths)
        self.assertFalse(report.ok)
        self.assertEqual(1, len(report.problems), report.problems)
        self.assertIn('page 1999', report.problems[0])
        self.assertIn('expected pass 3, found page 1999 of pass 2',
                      report.problems[0])
        self.assertIn(self.image.paths[1], report.problems[0])

    def test_torn_page_is_found(self):
        new = devguest.expected_page(10, 3)
        old = devguest.expected_page(10, 2)
        self.image.write_page(10, new[:PAGE // 2] + old[PAGE // 2:])
        report = devguest.verify(self.image.paths)
        self.assertEqual(1, len(report.problems), report.problems)
        self.assertIn('torn stamp', report.problems[0])

    def test_page_in_the_wrong_place_is_found(self):
        self.image.write_page(20, devguest.expected_page(21, 3))
        report = devguest.verify(self.image.paths)
        self.assertIn('page 20', report.problems[0])
        self.assertIn('found page 21 of pass 3', report.problems[0])

    def test_files_in_the_wrong_order_fail(self):
        report = devguest.verify(list(reversed(self.image.paths)))
        self.assertFalse(report.ok)
        self.assertIn('no control page', report.problems[0])

    def test_zeroed_file_fails(self):
        with open(self.image.paths[1], 'r+b') as f:
            f.write(bytes(PAGE * 4))
        report = devguest.verify(self.image.paths)
        self.assertEqual(4, len(report.problems), report.problems)
        self.assertIn('found zeros', report.problems[0])

    def test_a_guest_that_never_ran_fails(self):
        other = StampImage(self.useFixture(fixtures.TempDir()).path)
        report = devguest.verify(other.paths)
        self.assertFalse(report.ok)
        self.assertIsNone(report.control)

    def test_first_pass_leaves_zeros_after_the_cursor(self):
        other = StampImage(self.useFixture(fixtures.TempDir()).path)
        other.stamp(pass_number=1, cursor=100)
        report = devguest.verify(other.paths)
        self.assertTrue(report.ok, str(report))
        self.assertEqual(100, report.pages_stamped)

    def test_stop_and_resume_requests(self):
        path = self.image.paths[0]
        devguest.request_stop(path)
        with open(path, 'rb') as f:
            self.assertEqual(b'STOP', f.read(24)[20:24])
        # The guest acknowledged (status HALT) in this image already.
        self.assertEqual(b'HALT', devguest.wait_halted(path, 1).status)
        self.assertRaises(TimeoutError, devguest.request_resume, path, 0.2)
        with open(path, 'rb') as f:
            self.assertEqual(bytes(4), f.read(24)[20:24])

    def test_guest_pages_follow_qemu(self):
        # QEMU maps size minus the 128 KiB label, rounded down to 2 MiB.
        self.assertEqual(14 * MiB // PAGE,
                         devguest.guest_pages(16 * MiB))
        self.assertEqual(0, devguest.guest_pages(2 * MiB))

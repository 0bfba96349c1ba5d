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
                f.truncate(size)     # sparse: big images cost no disk

    def start(self, pass_number=1, cursor=0):
        """Only the control page, as the guest leaves it at boot."""
        total = self.pages_per_file * len(self.paths)
        chunks = total // devguest.CHUNK_PAGES
        control = struct.pack('<IIII4s4sII', devguest.CTRL_MAGIC,
                              pass_number, cursor, 0, b'HALT', b'STOP',
                              0, chunks)
        with open(self.paths[0], 'r+b') as f:
            f.write(control)
            f.seek(64)
            f.write(devguest.bitmap_of_chunks(range(chunks)))

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
        bitmap = devguest.bitmap_of_chunks(range(chunks))
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


class BeyondOneGiBTestCase(test.NoDBTestCase):
    """3 x 384 MiB namespaces: 1146 MiB of NVDIMM space, past the single
    GiB the guest used to map (its third namespace was then unchecked
    and verify failed)."""

    def setUp(self):
        super().setUp()
        self.image = StampImage(self.useFixture(fixtures.TempDir()).path,
                                count=3, size=384 * MiB)
        # At boot of pass 1: every data page still holds pass 0 (zeros).
        self.image.start(pass_number=1, cursor=0)
        self.total = 3 * self.image.pages_per_file

    def test_bitmap_holds_every_chunk(self):
        control = devguest.read_control(self.image.paths[0])
        chunks = self.total // devguest.CHUNK_PAGES
        self.assertGreater(chunks, 512)
        self.assertEqual(tuple(range(chunks)), control.present_chunks)

    def test_every_page_is_checked(self):
        report = devguest.verify(self.image.paths)
        self.assertTrue(report.ok, str(report))
        self.assertEqual(self.total - 1, report.pages_checked)

    def test_lost_write_beyond_one_gib_is_found(self):
        # A page of the third namespace, past 1 GiB of NVDIMM space, holds
        # a stamp the guest has not written yet (cursor 0).
        page = self.total - 7
        self.assertGreater(page * PAGE, 1 << 30)
        self.image.write_page(page, devguest.expected_page(page, 1))
        report = devguest.verify(self.image.paths)
        self.assertEqual(1, len(report.problems), report.problems)
        self.assertIn('page %d' % page, report.problems[0])
        self.assertIn(self.image.paths[2], report.problems[0])


class LayoutTestCase(test.NoDBTestCase):

    def test_pace_is_read_from_the_control_page(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'ns')
        with open(path, 'wb') as f:
            f.truncate(4 * MiB)
            f.write(struct.pack('<IIII4s4sIIII', devguest.CTRL_MAGIC, 1, 5,
                                5, b'RUN!', bytes(4), 0, 1, 2600000000,
                                300))
        control = devguest.read_control(path)
        self.assertEqual((2600000000, 300),
                         (control.tsc_hz, control.pages_per_second))

    def test_command_line_sets_the_pace(self):
        self.assertEqual('pages_per_second=300',
                         devguest.command_line(300))

    def test_bitmap_round_trip_is_one_bit_per_chunk(self):
        chunks = (0, 1, 7, 8, 511, 512, 575, devguest.WINDOW_CHUNKS - 1)
        bitmap = devguest.bitmap_of_chunks(chunks)
        self.assertEqual(devguest.WINDOW_CHUNKS // 8, len(bitmap))
        # Bit c of byte c // 8, as x86 bts sets it.
        self.assertEqual(0b10000011, bitmap[0])
        self.assertEqual(chunks, devguest.chunks_of_bitmap(bitmap))

    def test_bitmap_fits_the_control_page(self):
        self.assertLessEqual(64 + devguest.WINDOW_CHUNKS // 8, PAGE)

    def test_stamp_words_stay_32_bit_past_16_gib(self):
        # g << 10 overflows 32 bits from page 4 Mi on; the guest's
        # registers drop the high bits, and so must the expected page.
        page, pass_number = 5 * 1024 * 1024 + 3, 2
        data = devguest.expected_page(page, pass_number)
        self.assertEqual(PAGE, len(data))
        key = ((pass_number * devguest.GOLDEN) ^ (page << 10)) & 0xFFFFFFFF
        words = struct.unpack('<1024I', data)
        self.assertEqual((devguest.PAGE_MAGIC, page, pass_number),
                         words[:3])
        self.assertEqual([key ^ k for k in range(3, 1024)],
                         list(words[3:]))

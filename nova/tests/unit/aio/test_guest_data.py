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

"""Namespace bytes: patterns, read-back, and the handover capture."""

import hashlib
import os

import fixtures
import testtools

from nova.aio import guest_data


class _Workload:
    """What Handover touches of an emulated guest's workload."""

    def __init__(self):
        self.rate = 100.0
        self.ram_rate = 10.0
        self.pages_written = 7
        self.attached = []

    def attach(self, spec):
        self.attached.append(spec)


class TestGuestData(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def _file(self, name, size):
        path = os.path.join(self.dir, name)
        with open(path, 'wb') as f:
            f.truncate(size)
        return path

    def test_pattern_fills_the_file_and_names_its_label(self):
        path = self._file('ns0', 3 * guest_data.CHUNK + 5)
        self.assertTrue(guest_data.reads_as_zeros(path))
        guest_data.write_pattern(path, 'abc-0')
        with open(path, 'rb') as f:
            data = f.read()
        self.assertEqual(3 * guest_data.CHUNK + 5, len(data))
        self.assertTrue(data.startswith(b'nova-aio vpmem abc-0 '))
        self.assertNotIn(b'\0', data)
        self.assertFalse(guest_data.reads_as_zeros(path))
        self.assertEqual(hashlib.sha256(data).hexdigest(),
                         guest_data.sha256(path))

    def test_one_byte_is_not_zeros(self):
        path = self._file('ns1', 2 * guest_data.CHUNK)
        with open(path, 'r+b') as f:
            f.seek(2 * guest_data.CHUNK - 1)
            f.write(b'\1')
        self.assertFalse(guest_data.reads_as_zeros(path))

    def test_handover_records_source_and_stops_the_writer(self):
        path = self._file('ns0', 8192)
        guest_data.write_pattern(path, 'src')
        expected = guest_data.sha256(path)
        load = _Workload()
        handover = guest_data.Handover(load, [path])
        self.assertIsNone(handover.digests)

        load.attach('dest-spec')
        self.assertTrue(handover.done.is_set())
        self.assertEqual([expected], handover.digests)
        self.assertEqual(7, handover.pages_written)
        self.assertEqual((0.0, 0.0), (load.rate, load.ram_rate))
        self.assertEqual(['dest-spec'], load.attached)

        # Only the first handover counts: later attaches pass through.
        guest_data.write_pattern(path, 'changed')
        load.attach('again')
        self.assertEqual([expected], handover.digests)
        self.assertEqual(['dest-spec', 'again'], load.attached)

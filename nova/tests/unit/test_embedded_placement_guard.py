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

"""What the embedded placement lets run together on SQLite."""

import os
import sqlite3
import tempfile
import threading
import time

from nova.embedded import placement
from nova import test


class _Recorder:
    """A WSGI app noting which requests are inside it at once."""

    def __init__(self, hold=0.05):
        self.hold = hold
        self.lock = threading.Lock()
        self.inside = []
        self.overlaps = set()

    def __call__(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        with self.lock:
            for other in self.inside:
                self.overlaps.add(tuple(sorted((method, other))))
            self.inside.append(method)
        time.sleep(self.hold)
        with self.lock:
            self.inside.remove(method)
        start_response('200 OK', [])
        return [b'']


def _concurrently(guard, methods):
    threads = [threading.Thread(
        target=guard, args=({'REQUEST_METHOD': m}, lambda *a: None))
        for m in methods]
    for thread in threads:
        thread.start()
        time.sleep(0.005)
    for thread in threads:
        thread.join(10)


class TestGuard(test.NoDBTestCase):

    def _run(self, mode, methods):
        app = _Recorder()
        guard = placement.SQLiteGuard(app, mode)
        _concurrently(guard, methods)
        return app.overlaps, guard.stats()

    def test_wal_reads_never_wait_writes_one_at_a_time(self):
        overlaps, stats = self._run(placement.WAL,
                                    ['PUT', 'GET', 'GET', 'POST'])
        self.assertIn(('GET', 'GET'), overlaps)
        self.assertIn(('GET', 'PUT'), overlaps)
        self.assertNotIn(('POST', 'PUT'), overlaps)
        self.assertEqual(2, stats['read']['requests'])
        self.assertEqual(0.0, stats['read']['wait_s'])
        self.assertGreater(stats['write']['wait_s'], 0.0)

    def test_shared_reads_apart_from_writes(self):
        overlaps, stats = self._run(placement.SHARED_READS,
                                    ['GET', 'GET', 'PUT', 'GET', 'DELETE'])
        self.assertIn(('GET', 'GET'), overlaps)
        for pair in (('GET', 'PUT'), ('DELETE', 'GET'),
                     ('DELETE', 'PUT')):
            self.assertNotIn(pair, overlaps)
        self.assertEqual({'requests': 2}, {
            k: v for k, v in stats['write'].items() if k == 'requests'})

    def test_serial_one_at_a_time(self):
        overlaps, _ = self._run(placement.SERIAL, ['GET', 'GET', 'PUT'])
        self.assertEqual(set(), overlaps)

    def test_waiting_writer_goes_before_new_readers(self):
        lock = placement._ReadersWriterLock()
        order = []
        lock.acquire_read()
        writer = threading.Thread(target=lambda: (
            lock.acquire_write(), order.append('write'),
            lock.release_write()))
        writer.start()
        time.sleep(0.05)
        reader = threading.Thread(target=lambda: (
            lock.acquire_read(), order.append('read'), lock.release_read()))
        reader.start()
        time.sleep(0.05)
        self.assertEqual([], order)  # both wait for the first reader
        lock.release_read()
        writer.join(5)
        reader.join(5)
        self.assertEqual(['write', 'read'], order)


class TestMode(test.NoDBTestCase):

    def test_file_database_goes_wal(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'placement.sqlite')
            self.assertEqual(placement.WAL,
                             placement.sqlite_mode('sqlite:///' + path))
            with sqlite3.connect(path) as conn:
                self.assertEqual('wal', conn.execute(
                    'PRAGMA journal_mode').fetchone()[0])

    def test_memory_database_is_serial(self):
        self.assertEqual(placement.SERIAL, placement.sqlite_mode('sqlite://'))
        self.assertEqual(placement.SERIAL,
                         placement.sqlite_mode('sqlite:///:memory:'))

    def test_no_wal_shares_reads_only(self):
        self.assertEqual(placement.SHARED_READS,
                         placement.sqlite_mode('sqlite:////nonexistent/x/y'))

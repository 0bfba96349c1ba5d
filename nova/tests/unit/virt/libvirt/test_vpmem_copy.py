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

"""Tests of the verified copy of vpmem namespaces for cold migration."""

import errno
import hashlib
import os
import secrets
import socket
import threading
from unittest import mock

import fixtures

from nova import exception
from nova import test
from nova.virt.libvirt import vpmem_copy

UUID = '6a1e2c3d-0b4f-4c5e-9d8a-7f6e5d4c3b2a'
KiB = 1024


class _CorruptDigest:
    """A SHA-256 whose digest() is wrong in its first byte."""

    def __init__(self):
        self._real = hashlib.sha256()

    def update(self, data):
        self._real.update(data)

    def digest(self):
        digest = self._real.digest()
        return bytes([digest[0] ^ 0xff]) + digest[1:]


class VPMEMCopyTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tmpdir = self.useFixture(fixtures.TempDir()).path

    def _file(self, name, size, content=None):
        path = os.path.join(self.tmpdir, name)
        with open(path, 'wb') as f:
            f.write(content if content is not None else b'\0' * size)
        return path, size

    def _sources(self, *sizes):
        return [self._file('src%d' % i, size, os.urandom(size))
                for i, size in enumerate(sizes)]

    def _targets(self, *sizes):
        return [self._file('dst%d' % i, size) for i, size in enumerate(sizes)]

    def _receiver(self, targets, timeout=5.0):
        receiver = vpmem_copy.Receiver(UUID, targets, '127.0.0.1', timeout)
        self.addCleanup(receiver.close)
        return receiver, receiver.start()

    def _read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def _assert_zeros(self, targets):
        for path, size in targets:
            self.assertEqual(b'\0' * size, self._read(path), path)

    def _assert_send_fails(self, endpoint, sources, *fragments, **kwargs):
        ex = self.assertRaises(exception.VPMEMCopyFailed, vpmem_copy.send,
                               UUID, endpoint, sources, **kwargs)
        for fragment in (UUID,) + fragments:
            self.assertIn(fragment, str(ex))
        return ex

    def _assert_refused(self, endpoint, sources):
        # Nobody listens any more: no connection may even be queued.
        self._assert_send_fails(endpoint, sources, 'handshake with',
                                '127.0.0.1', 'Connection refused',
                                timeout=2)

    def _assert_wait_fails(self, receiver, *fragments):
        ex = self.assertRaises(exception.VPMEMCopyFailed, receiver.wait, 5)
        for fragment in (UUID,) + fragments:
            self.assertIn(fragment, str(ex))
        self.assertTrue(receiver.done)
        return ex

    def test_round_trip(self):
        sources = self._sources(1024 * KiB + 123, 300 * KiB)
        targets = self._targets(1024 * KiB + 123, 300 * KiB)
        receiver, endpoint = self._receiver(targets)
        self.assertEqual({'host', 'port', 'token'}, set(endpoint))
        self.assertEqual('127.0.0.1', endpoint['host'])
        self.assertEqual(64, len(endpoint['token']))
        calls = []
        total = sum(size for _path, size in sources)

        sent = vpmem_copy.send(UUID, endpoint, sources,
                               progress=lambda *args: calls.append(args),
                               chunk_size=256 * KiB)

        self.assertEqual(total, sent)
        self.assertEqual(total, receiver.wait(5))
        self.assertTrue(receiver.done)
        for (source, _size), (target, _size) in zip(sources, targets,
                                                        strict=True):
            self.assertEqual(self._read(source), self._read(target))
        # 5 chunks of the first namespace, 2 of the second.
        self.assertEqual(7, len(calls))
        done = [bytes_sent for bytes_sent, _total in calls]
        self.assertEqual(sorted(set(done)), done)
        self.assertEqual(total, done[-1])
        self.assertEqual({total}, {bytes_total for _sent, bytes_total in
                                   calls})

    def test_accepts_one_connection(self):
        sources = self._sources(4 * KiB)
        targets = self._targets(4 * KiB)
        receiver, endpoint = self._receiver(targets)
        vpmem_copy.send(UUID, endpoint, sources)
        receiver.wait(5)

        self._assert_refused(endpoint, sources)

    def test_wrong_token(self):
        sources = self._sources(8 * KiB, 4 * KiB)
        targets = self._targets(8 * KiB, 4 * KiB)
        receiver, endpoint = self._receiver(targets)
        forged = dict(endpoint, token=secrets.token_hex(32))

        self._assert_send_fails(forged, sources, 'handshake', 'token refused')
        self._assert_wait_fails(receiver, 'token refused')
        self._assert_zeros(targets)
        # The right token is too late: the one connection was used.
        self._assert_refused(endpoint, sources)
        self._assert_zeros(targets)

    def test_size_mismatch(self):
        sources = self._sources(8 * KiB, 4 * KiB)
        targets = self._targets(8 * KiB, 8 * KiB)
        receiver, endpoint = self._receiver(targets)

        self._assert_send_fails(endpoint, sources, 'namespace 1',
                                sources[1][0], targets[1][0], '4096', '8192')
        self._assert_wait_fails(receiver, 'namespace 1', targets[1][0],
                                'namespace 1 of 4096 bytes, the target 8192')
        self._assert_zeros(targets[1:])

    def test_count_mismatch(self):
        sources = self._sources(4 * KiB)
        targets = self._targets(4 * KiB, 4 * KiB)
        receiver, endpoint = self._receiver(targets)

        self._assert_send_fails(endpoint, sources, 'handshake',
                                'the sender has 1 namespaces, this host 2')
        self._assert_wait_fails(receiver, 'the sender has 1 namespaces')
        self._assert_zeros(targets)

    def test_checksum_mismatch(self):
        sources = self._sources(64 * KiB, 4 * KiB)
        targets = self._targets(64 * KiB, 4 * KiB)
        receiver, endpoint = self._receiver(targets)
        sender_thread = threading.current_thread()

        def sha256():
            if threading.current_thread() is sender_thread:
                return _CorruptDigest()
            return hashlib.sha256()

        with mock.patch.object(vpmem_copy, 'hashlib') as fake_hashlib:
            fake_hashlib.sha256.side_effect = sha256
            self._assert_send_fails(endpoint, sources, 'namespace 0',
                                    sources[0][0], 'SHA-256')

        self._assert_wait_fails(receiver, 'namespace 0', targets[0][0],
                                'SHA-256')
        # The second namespace was never sent.
        self._assert_zeros(targets[1:])

    def test_nobody_connects(self):
        receiver, endpoint = self._receiver(self._targets(4 * KiB),
                                            timeout=0.3)

        self._assert_wait_fails(receiver, 'no sender connected within 0.3')
        # The listener is gone.
        self._assert_refused(endpoint, self._sources(4 * KiB))

    def test_sender_goes_silent(self):
        targets = self._targets(4 * KiB)
        receiver, endpoint = self._receiver(targets, timeout=0.3)
        with socket.create_connection((endpoint['host'], endpoint['port'])):
            self._assert_wait_fails(receiver, 'handshake', 'timed out')

    def test_receiver_goes_silent(self):
        with socket.create_server(('127.0.0.1', 0)) as silent:
            endpoint = {'host': '127.0.0.1',
                        'port': silent.getsockname()[1],
                        'token': secrets.token_hex(32)}
            self._assert_send_fails(endpoint, self._sources(4 * KiB),
                                    'handshake', 'timed out', timeout=0.3)

    def test_missing_source(self):
        targets = self._targets(4 * KiB)
        receiver, endpoint = self._receiver(targets)
        missing = os.path.join(self.tmpdir, 'missing')

        self._assert_send_fails(endpoint, [(missing, 4 * KiB)],
                                'namespace 0', missing)
        self._assert_wait_fails(receiver, 'namespace 0', targets[0][0])

    def test_missing_target(self):
        missing = os.path.join(self.tmpdir, 'missing')
        receiver, endpoint = self._receiver([(missing, 4 * KiB)])
        sources = self._sources(4 * KiB)

        self._assert_send_fails(endpoint, sources, 'namespace 0',
                                sources[0][0], missing)
        self._assert_wait_fails(receiver, 'namespace 0', missing)

    def test_close_is_idempotent(self):
        receiver, endpoint = self._receiver(self._targets(4 * KiB))

        receiver.close()
        receiver.close()

        self.assertTrue(receiver.done)
        self._assert_wait_fails(receiver, 'closed')
        self._assert_refused(endpoint, self._sources(4 * KiB))

    def test_close_before_start(self):
        receiver = vpmem_copy.Receiver(UUID, self._targets(4 * KiB),
                                       '127.0.0.1')
        receiver.close()
        receiver.close()

        self._assert_wait_fails(receiver, 'closed')
        self.assertRaises(RuntimeError, receiver.start)

    def test_close_during_transfer(self):
        sources = self._sources(512 * KiB)
        targets = self._targets(512 * KiB)
        receiver, endpoint = self._receiver(targets)

        def close_after_first_chunk(bytes_sent, bytes_total):
            receiver.close()

        self._assert_send_fails(endpoint, sources, 'namespace 0',
                                chunk_size=4 * KiB,
                                progress=close_after_first_chunk)
        self._assert_wait_fails(receiver, 'closed before the transfer ended')

    def test_wait_timeout(self):
        receiver, _endpoint = self._receiver(self._targets(4 * KiB))

        ex = self.assertRaises(exception.VPMEMCopyFailed, receiver.wait, 0.1)
        self.assertIn('did not end within 0.1 seconds', str(ex))
        self.assertFalse(receiver.done)

    def test_invalid_sizes(self):
        path, _size = self._file('ns', 4 * KiB)
        endpoint = {'host': '127.0.0.1', 'port': 1, 'token': 'x'}
        for namespaces in ([], [(path, 0)], [(path, 4 * KiB), (path, -1)]):
            self.assertRaises(ValueError, vpmem_copy.Receiver, UUID,
                              namespaces, '127.0.0.1')
            self.assertRaises(ValueError, vpmem_copy.send, UUID, endpoint,
                              namespaces)

    def test_flush_tolerates_devdax_without_msync(self):
        einval = OSError(errno.EINVAL, 'Invalid argument')
        mapping = mock.Mock(**{'flush.side_effect': einval})
        # /dev/null stands for a devdax character device.
        vpmem_copy._flush(mapping, os.devnull)
        mapping.flush.assert_called_once_with()

        path, _size = self._file('ns', 4 * KiB)
        self.assertRaises(OSError, vpmem_copy._flush, mapping, path)
        mapping.flush.side_effect = OSError(errno.EIO, 'I/O error')
        self.assertRaises(OSError, vpmem_copy._flush, mapping, os.devnull)

    def test_flush_before_acknowledging(self):
        sources = self._sources(4 * KiB)
        targets = self._targets(4 * KiB)
        receiver, endpoint = self._receiver(targets)

        with mock.patch.object(vpmem_copy, '_flush',
                               side_effect=OSError(errno.EIO, 'I/O error')):
            self._assert_send_fails(endpoint, sources, 'namespace 0',
                                    'I/O error')
        self._assert_wait_fails(receiver, 'namespace 0', targets[0][0],
                                'I/O error')


class PortRangeTestCase(test.NoDBTestCase):

    def _free_ports(self, count):
        # Consecutive ports free right now, found by binding a block.
        for first in range(40000, 60000, 50):
            sockets = []
            try:
                for port in range(first, first + count):
                    sock = socket.socket()
                    sockets.append(sock)
                    sock.bind(('127.0.0.1', port))
            except OSError:
                continue
            finally:
                for sock in sockets:
                    sock.close()
            return first
        self.fail('no %d consecutive free ports' % count)

    def _receiver(self, ports):
        receiver = vpmem_copy.Receiver(UUID, [('/nonexistent', 4096)],
                                       '127.0.0.1', 1.0, ports=ports)
        self.addCleanup(receiver.close)
        return receiver

    def test_first_free_port_of_the_range(self):
        first = self._free_ports(3)
        taken = socket.create_server(('127.0.0.1', first))
        self.addCleanup(taken.close)
        endpoint = self._receiver((first, first + 2)).start()
        self.assertEqual(first + 1, endpoint['port'])

    def test_a_full_range_names_it(self):
        first = self._free_ports(1)
        taken = socket.create_server(('127.0.0.1', first))
        self.addCleanup(taken.close)
        err = self.assertRaises(exception.VPMEMCopyFailed,
                                self._receiver((first, first)).start)
        self.assertIn('ports %d-%d' % (first, first), str(err))

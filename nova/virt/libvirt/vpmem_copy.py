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

"""Copy the persistent memory of a cold-migrated guest between hosts.

The guest is powered off, so this is a plain bulk copy, verified per
namespace. The destination compute opens a :class:`Receiver` on the
namespaces it claimed and returns its endpoint over RPC; the source compute
calls :func:`send` with its namespaces in the same order.

Protocol, over one TCP connection (integers are big-endian)::

    sender   -> token length (u16), token (UTF-8), namespace count (u32)
    receiver <- status line
    for each namespace, in order:
        sender   -> index (u32), size (u64)
        receiver <- status line, OK once the target is mapped
        sender   -> the size bytes, then their SHA-256 digest (32 bytes)
        receiver <- status line, OK once the bytes it wrote are flushed
                    to the target and their SHA-256 equals the sender's

A status line is ``OK\\n`` or ``ERR <reason>\\n``. The receiver answers ERR
to a wrong token, a count or a size that differs from its targets, and a
digest mismatch, then closes; the sender raises on ERR. The receiver
accepts one connection only, then stops listening. Namespaces are read and
written through mmap: devdax character devices support nothing else.
"""

import contextlib
import errno
import hashlib
import hmac
import mmap
import os
import secrets
import socket
import stat
import struct
import threading
import time

from oslo_log import log as logging

from nova import exception

LOG = logging.getLogger(__name__)

_TOKEN_LENGTH = struct.Struct('!H')
_COUNT = struct.Struct('!I')
_HEADER = struct.Struct('!IQ')
_DIGEST_SIZE = hashlib.sha256().digest_size
_MAX_TOKEN = 1024
_MAX_LINE = 1024
_RECV_CHUNK = 4 * 1024 * 1024
# How often a waiting accept() looks whether close() was called.
_POLL_SECONDS = 0.2


class _Refused(Exception):
    """A transfer stopped for the reason given by its message."""


def _check_namespaces(namespaces):
    if not namespaces:
        raise ValueError('no namespaces to copy')
    for path, size in namespaces:
        if not isinstance(size, int) or size <= 0:
            raise ValueError('namespace %s has an invalid size %r' %
                             (path, size))


def _recv_exact(sock, length):
    data = bytearray()
    while len(data) < length:
        piece = sock.recv(length - len(data))
        if not piece:
            raise ConnectionError('the peer closed the connection')
        data += piece
    return bytes(data)


def _send_status(sock, error=None):
    line = 'OK' if error is None else 'ERR ' + ' '.join(str(error).split())
    sock.sendall(line.encode('utf-8')[:_MAX_LINE] + b'\n')


def _expect_ok(sock):
    line = b''
    while not line.endswith(b'\n') and len(line) <= _MAX_LINE:
        line += _recv_exact(sock, 1)
    if line != b'OK\n':
        raise _Refused('the receiver answered: %s' % line.decode(
            'utf-8', 'replace').strip().removeprefix('ERR '))


@contextlib.contextmanager
def _mapped(path, size, writable):
    """Yield ``(mapping, view)`` of the first size bytes of path."""
    fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
    try:
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        with mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=prot) as mapping:
            with memoryview(mapping) as view:
                yield mapping, view
    finally:
        os.close(fd)


def _flush(mapping, path):
    """msync the mapping, so that an OK means the bytes are durable."""
    try:
        mapping.flush()
    except OSError as e:
        # Device DAX has no page cache to write back and has no fsync, so
        # msync fails with EINVAL there: nothing was left unwritten.
        if e.errno != errno.EINVAL or not stat.S_ISCHR(os.stat(path).st_mode):
            raise


class Receiver:
    """Receives one transfer into this host's claimed namespaces."""

    def __init__(self, instance_uuid, targets, bind_host, timeout=60.0,
                 ports=(0, 0)):
        _check_namespaces(targets)
        self.instance_uuid = instance_uuid
        self.targets = list(targets)
        self.bind_host = bind_host
        # (first, last) to listen on the first free one; (0, 0): any.
        self.ports = ports
        self.timeout = timeout
        self._token = secrets.token_hex(32)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._finished = threading.Event()
        self._listener = None
        self._conn = None
        self._thread = None
        self._received = 0
        self._error = None

    @property
    def done(self):
        return self._finished.is_set()

    def _listen(self):
        """A listening socket on the first free port of ``ports``."""
        first, last = self.ports
        error = None
        for port in range(first, last + 1):
            try:
                family = socket.getaddrinfo(self.bind_host, port,
                                            type=socket.SOCK_STREAM)[0][0]
                return socket.create_server(
                    (self.bind_host, port), family=family, backlog=1)
            except OSError as e:
                error = e
        where = self.bind_host
        if first:
            where += ', ports %d-%d' % (first, last)
        raise exception.VPMEMCopyFailed(
            instance_uuid=self.instance_uuid,
            reason='cannot listen on %s: %s' % (where, error))

    def start(self):
        """Listen on a port of ``ports``; return the endpoint for send()."""
        with self._lock:
            if self._thread is not None or self._closing.is_set():
                raise RuntimeError('a Receiver can be started only once')
            self._listener = self._listen()
            self._listener.settimeout(_POLL_SECONDS)
            port = self._listener.getsockname()[1]
            self._thread = threading.Thread(
                target=self._run, daemon=True,
                name='vpmem-copy-%s' % self.instance_uuid)
            self._thread.start()
        return {'host': self.bind_host, 'port': port, 'token': self._token}

    def wait(self, timeout=None):
        """Block until the transfer ended; return the bytes received."""
        if self._thread is None and not self.done:
            raise RuntimeError('wait() on a Receiver that was not started')
        if not self._finished.wait(timeout):
            raise exception.VPMEMCopyFailed(
                instance_uuid=self.instance_uuid,
                reason='the transfer did not end within %s seconds' % timeout)
        if self._error is not None:
            raise exception.VPMEMCopyFailed(
                instance_uuid=self.instance_uuid, reason=self._error)
        return self._received

    def close(self):
        """Stop listening and end the transfer; safe to call at any time."""
        with self._lock:
            self._closing.set()
            if self._conn is not None:
                # Wakes a blocked recv(); the thread closes the socket.
                with contextlib.suppress(OSError):
                    self._conn.shutdown(socket.SHUT_RDWR)
            thread = self._thread
            if thread is None and not self.done:
                self._error = 'the receiver was closed before it started'
                self._finished.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.timeout)

    def _run(self):
        try:
            conn = self._accept()
            started = time.monotonic()
            try:
                self._received = self._receive(conn)
            finally:
                with self._lock:
                    self._conn = None
                conn.close()
            LOG.info('Received %d bytes of persistent memory of instance '
                     '%s in %.2f seconds', self._received, self.instance_uuid,
                     time.monotonic() - started)
        except Exception as e:  # the failure belongs to whoever calls wait()
            self._error = ('the receiver was closed before the transfer '
                           'ended' if self._closing.is_set() else str(e))
            LOG.warning('Receiving the persistent memory of instance %s '
                        'failed: %s', self.instance_uuid, self._error)
        finally:
            self._finished.set()

    def _accept(self):
        deadline = time.monotonic() + self.timeout
        try:
            while not self._closing.is_set():
                if time.monotonic() >= deadline:
                    raise _Refused('no sender connected within %s seconds' %
                                   self.timeout)
                try:
                    conn, _peer = self._listener.accept()
                except TimeoutError:
                    continue
                conn.settimeout(self.timeout)
                with self._lock:
                    self._conn = conn
                    if not self._closing.is_set():
                        return conn
                conn.close()
            raise _Refused('closed')
        finally:
            # One connection only: nobody else may connect afterwards.
            self._listener.close()

    def _receive(self, conn):
        where = 'handshake'
        try:
            length, = _TOKEN_LENGTH.unpack(
                _recv_exact(conn, _TOKEN_LENGTH.size))
            token = _recv_exact(conn, min(length, _MAX_TOKEN))
            count, = _COUNT.unpack(_recv_exact(conn, _COUNT.size))
            if not hmac.compare_digest(token, self._token.encode('utf-8')):
                raise _Refused('token refused')
            if count != len(self.targets):
                raise _Refused('the sender has %d namespaces, this host %d' %
                               (count, len(self.targets)))
            _send_status(conn)
            for index, (path, size) in enumerate(self.targets):
                where = 'namespace %d (%s)' % (index, path)
                self._receive_namespace(conn, index, path, size)
        except (_Refused, OSError, ValueError) as e:
            reason = '%s: %s' % (where, e)
            with contextlib.suppress(OSError):
                _send_status(conn, reason)
            raise _Refused(reason)
        return sum(size for _path, size in self.targets)

    def _receive_namespace(self, conn, index, path, size):
        header = _HEADER.unpack(_recv_exact(conn, _HEADER.size))
        if header != (index, size):
            raise _Refused('the sender has namespace %d of %d bytes, the '
                           'target %d bytes' % (*header, size))
        digest = hashlib.sha256()
        with _mapped(path, size, writable=True) as (mapping, view):
            _send_status(conn)
            offset = 0
            while offset < size:
                end = min(size, offset + _RECV_CHUNK)
                length = conn.recv_into(view[offset:end])
                if not length:
                    raise ConnectionError('the sender closed the connection')
                digest.update(view[offset:offset + length])
                offset += length
            sent_digest = _recv_exact(conn, _DIGEST_SIZE)
            _flush(mapping, path)
        if not hmac.compare_digest(digest.digest(), sent_digest):
            raise _Refused('the SHA-256 of the bytes written differs from '
                           "the sender's")
        _send_status(conn)


def send(instance_uuid, endpoint, sources, progress=None, timeout=60.0,
         chunk_size=4 * 1024 * 1024):
    """Copy sources to the Receiver at endpoint; return the bytes sent.

    Returns once the receiver acknowledged every namespace's digest.
    """
    _check_namespaces(sources)
    if chunk_size <= 0:
        raise ValueError('invalid chunk size %r' % chunk_size)
    total = sum(size for _path, size in sources)
    address = (endpoint['host'], endpoint['port'])
    where = 'handshake with %s:%s' % address
    sent = 0
    started = time.monotonic()
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            token = endpoint['token'].encode('utf-8')
            sock.sendall(_TOKEN_LENGTH.pack(len(token)) + token +
                         _COUNT.pack(len(sources)))
            _expect_ok(sock)
            for index, (path, size) in enumerate(sources):
                where = 'namespace %d (%s)' % (index, path)
                digest = hashlib.sha256()
                with _mapped(path, size, writable=False) as (_map, view):
                    sock.sendall(_HEADER.pack(index, size))
                    _expect_ok(sock)
                    for offset in range(0, size, chunk_size):
                        with view[offset:offset + chunk_size] as piece:
                            sock.sendall(piece)
                            digest.update(piece)
                            sent += len(piece)
                        if progress is not None:
                            progress(sent, total)
                sock.sendall(digest.digest())
                _expect_ok(sock)
    except (_Refused, OSError, ValueError, struct.error) as e:
        raise exception.VPMEMCopyFailed(instance_uuid=instance_uuid,
                                        reason='%s: %s' % (where, e))
    LOG.info('Sent %d bytes of persistent memory of instance %s in %.2f '
             'seconds', sent, instance_uuid, time.monotonic() - started)
    return sent

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

"""The HTTP server of nova-api under a burst: backlog and worker pool."""

import collections
import socket
import threading
import time
from unittest import mock

from nova import service
from nova import test

BURST = 500


def _slow_app(state):
    """A trivial app that holds its worker a little, counting overlap."""

    def app(environ, start_response):
        with state['lock']:
            state['running'] += 1
            state['peak'] = max(state['peak'], state['running'])
        time.sleep(0.02)
        with state['lock']:
            state['running'] -= 1
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', '2')])
        return [b'ok']
    return app


def _burst(port, count):
    """``count`` clients connect at once and send one GET each.

    Returns a Counter of outcomes: '200', or the error's class name.
    """
    outcomes = collections.Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def client():
        try:
            barrier.wait(30)
            with socket.create_connection(('127.0.0.1', port),
                                          timeout=60) as sock:
                sock.sendall(b'GET / HTTP/1.0\r\nHost: x\r\n\r\n')
                data = b''
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            outcome = data.split(b' ', 2)[1].decode() if data else 'empty'
        except Exception as exc:
            outcome = type(exc).__name__
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=client, daemon=True)
               for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


class TestBurst(test.NoDBTestCase):

    def _serve(self, **kwargs):
        state = {'lock': threading.Lock(), 'running': 0, 'peak': 0}
        server = service.WSGIService('burst', _slow_app(state), '127.0.0.1',
                                     0, **kwargs)
        server.start()
        self.addCleanup(server.kill)
        return server, state

    def test_burst_all_answered_by_a_bounded_pool(self):
        server, state = self._serve(pool_size=16)
        outcomes = _burst(server.port, BURST)
        self.assertEqual({'200': BURST}, dict(outcomes))
        # The pool bounded the concurrency, and was used.
        self.assertLessEqual(state['peak'], 16)
        self.assertGreater(state['peak'], 1)
        workers = [t for t in threading.enumerate()
                   if t.name.startswith('burst-worker')]
        self.assertLessEqual(len(workers), 16)

    def test_options_are_the_defaults(self):
        self.flags(backlog=1234, default_pool_size=7, group='wsgi')
        server = service.WSGIService('burst', _slow_app(None), '127.0.0.1',
                                     0)
        self.assertEqual((1234, 7), (server.backlog, server.pool_size))

    def test_backlog_reaches_listen(self):
        self.flags(backlog=1234, group='wsgi')
        backlogs = []
        real_listen = socket.socket.listen

        def listen(sock, backlog):
            backlogs.append(backlog)
            return real_listen(sock, backlog)

        with mock.patch.object(socket.socket, 'listen', listen):
            self._serve()
        self.assertEqual([1234], backlogs)

    def test_stop_while_all_workers_are_busy(self):
        release = threading.Event()

        def stuck_app(environ, start_response):
            release.wait(30)
            start_response('200 OK', [('Content-Length', '0')])
            return [b'']

        server = service.WSGIService('stuck', stuck_app, '127.0.0.1', 0,
                                     pool_size=1)
        server.start()
        self.addCleanup(release.set)
        socks = [socket.create_connection(('127.0.0.1', server.port))
                 for _ in range(3)]
        for sock in socks:
            self.addCleanup(sock.close)
            sock.sendall(b'GET / HTTP/1.0\r\n\r\n')
        time.sleep(0.3)  # one holds the worker, the next waits for it
        start = time.monotonic()
        server.stop()
        self.assertTrue(server.wait(timeout=5))
        self.assertLess(time.monotonic() - start, 3)

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

"""What a bench part counts while the cloud runs in its own process.

Each counter keeps running totals; a part takes ``snapshot()`` before
and after what it measures and subtracts (``delta``). Nothing here
changes what the cloud does, except ``shrink_fake_poll``, which is the
one documented monkeypatch of the control plane's second run.
"""

import collections
import contextlib
import functools
import re
import threading
import time

_UUID = re.compile(r'[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                   r'[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}')
_WRITES = ('INSERT', 'UPDATE', 'DELETE', 'REPLACE')


def delta(after, before):
    """``after - before`` for (nested) dicts of numbers."""
    if isinstance(after, dict):
        return {k: delta(v, before.get(k, 0) if isinstance(before, dict)
                         else 0) for k, v in after.items()}
    return after - (before or 0)


def url_pattern(method, path, query):
    """``GET /allocations/{uuid}``: the request without its identities.

    Query parameters keep their names only, so that the same request with
    other values counts as the same kind.
    """
    path = _UUID.sub('{uuid}', path)
    keys = sorted({part.split('=', 1)[0] for part in query.split('&')
                   if part})
    return '%s %s%s' % (method, path, '?' + '&'.join(keys) if keys else '')


class PlacementCounter:
    """A WSGI middleware counting the requests placement serves.

    It sits between the HTTP server and the placement app, so it sees
    every request of every client in the process (conductor, computes,
    the bench itself), and the time placement took to answer each.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.by_pattern = collections.Counter()
        self.ms_by_pattern = collections.Counter()
        # CPU of the threads serving placement (each request has one).
        self.cpu_s = 0.0
        # (start, end, pattern) in time.monotonic(), for phase sums.
        self.intervals = []

    def wrap(self, app):
        @functools.wraps(app)
        def counted(environ, start_response):
            began = time.monotonic()
            cpu = time.thread_time()
            try:
                return list(app(environ, start_response))
            finally:
                cpu = time.thread_time() - cpu
                ended = time.monotonic()
                key = url_pattern(environ['REQUEST_METHOD'],
                                  environ.get('PATH_INFO', ''),
                                  environ.get('QUERY_STRING', ''))
                with self._lock:
                    self.by_pattern[key] += 1
                    self.ms_by_pattern[key] += (ended - began) * 1000.0
                    self.cpu_s += cpu
                    self.intervals.append((began, ended, key))
        return counted

    def snapshot(self):
        with self._lock:
            patterns = dict(self.by_pattern)
            ms = dict(self.ms_by_pattern)
            cpu_s = self.cpu_s
        gets = sum(n for k, n in patterns.items() if k.startswith('GET '))
        return {'total': sum(patterns.values()), 'get': gets,
                'write': sum(patterns.values()) - gets,
                'ms': sum(ms.values()), 'cpu_s': cpu_s,
                'by_pattern': patterns,
                'ms_by_pattern': ms}


class RpcCounter:
    """Counts the RPC messages of the ``fake://`` transport.

    A call waits for a reply, a cast does not; notifications are counted
    apart. Patches the fake driver's class, so it sees every sender.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.calls = collections.Counter()
        self.casts = collections.Counter()
        self.notifications = 0
        self._undo = []

    def install(self):
        from oslo_messaging._drivers import impl_fake
        driver = impl_fake.FakeDriver
        send, notify = driver.send, driver.send_notification
        counter = self

        def counted_send(self, target, ctxt, message, wait_for_reply=None,
                         *args, **kwargs):
            kind = counter.calls if wait_for_reply else counter.casts
            with counter._lock:
                kind[message.get('method', '?')] += 1
            return send(self, target, ctxt, message, wait_for_reply, *args,
                        **kwargs)

        def counted_notification(self, *args, **kwargs):
            with counter._lock:
                counter.notifications += 1
            return notify(self, *args, **kwargs)

        driver.send = counted_send
        driver.send_notification = counted_notification
        self._undo.append(lambda: (setattr(driver, 'send', send),
                                   setattr(driver, 'send_notification',
                                           notify)))

    def uninstall(self):
        while self._undo:
            self._undo.pop()()

    def snapshot(self):
        with self._lock:
            calls, casts = dict(self.calls), dict(self.casts)
            notifications = self.notifications
        return {'calls': sum(calls.values()), 'casts': sum(casts.values()),
                'total': sum(calls.values()) + sum(casts.values()),
                'notifications': notifications,
                'by_method': {'call ' + k: v for k, v in calls.items()} |
                {'cast ' + k: v for k, v in casts.items()}}


class SqlCounter:
    """Counts SQL statements per database, from SQLAlchemy's events.

    Listens on the Engine class, so nova's and placement's engines (both
    in this process) are told apart by their database file name.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.statements = collections.Counter()
        self.writes = collections.Counter()
        self.commits = collections.Counter()
        # (start, end, database) of each statement, in time.monotonic().
        self.intervals = []
        self._started = threading.local()
        self._installed = False

    def _events(self):
        return (('before_cursor_execute', self._seen),
                ('after_cursor_execute', self._done),
                ('commit', self._commit))

    def install(self):
        from sqlalchemy import engine as sa_engine
        from sqlalchemy import event
        for name, func in self._events():
            event.listen(sa_engine.Engine, name, func)
        self._installed = True

    def uninstall(self):
        from sqlalchemy import engine as sa_engine
        from sqlalchemy import event
        if self._installed:
            for name, func in self._events():
                event.remove(sa_engine.Engine, name, func)
            self._installed = False

    def _done(self, conn, cursor, statement, parameters, context,
              executemany):
        began = getattr(self._started, 'at', None)
        if began is not None:
            with self._lock:
                self.intervals.append((began, time.monotonic(),
                                       self.database(conn)))

    def _commit(self, conn):
        with self._lock:
            self.commits[self.database(conn)] += 1

    @staticmethod
    def database(conn):
        name = conn.engine.url.database or ''
        return name.rsplit('/', 1)[-1].split('.', 1)[0] or 'memory'

    def _seen(self, conn, cursor, statement, parameters, context,
              executemany):
        db = self.database(conn)
        verb = statement.lstrip().split(None, 1)[0].upper() \
            if statement.strip() else ''
        with self._lock:
            self.statements[db] += 1
            if verb in _WRITES:
                self.writes[db] += 1
        self._started.at = time.monotonic()

    def snapshot(self):
        with self._lock:
            return {'statements': dict(self.statements),
                    'writes': dict(self.writes),
                    'commits': dict(self.commits)}


class Timeline:
    """Timestamps of chosen methods (entry and exit) and state changes.

    ``hook(owner, name, label)`` wraps ``owner.name`` (a class or module
    attribute); every call records ``(label + ':start', t)`` and
    ``(label + ':end', t)`` with ``time.monotonic()``. A missing
    attribute is noted in ``missing`` instead of failing: the hooks
    follow the code, which moves.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.events = []
        # (label, t) -> the process's CPU seconds (all threads) then.
        self.cpu = {}
        self.missing = []
        self._undo = []

    def mark(self, label, key=None):
        with self._lock:
            at = time.monotonic()
            self.events.append((label, at, key))
            self.cpu[(label, at)] = cpu_seconds()
            self._changed.notify_all()
        return at

    def cpu_at(self, label, at):
        """The process's CPU seconds at the ``label`` mark made at ``at``."""
        with self._lock:
            return self.cpu.get((label, at))

    def wait_for(self, label, since, timeout):
        """The time of the first ``label`` at or after ``since``; None if
        none came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for name, at, _key in self.events:
                    if name == label and at >= since:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)

    def hook(self, owner, name, label, key=None):
        original = getattr(owner, name, None)
        if original is None:
            self.missing.append('%s.%s' % (getattr(owner, '__name__', owner),
                                           name))
            return
        timeline = self

        @functools.wraps(original)
        def timed(*args, **kwargs):
            tag = key(*args, **kwargs) if key else None
            timeline.mark(label + ':start', tag)
            try:
                return original(*args, **kwargs)
            finally:
                timeline.mark(label + ':end', tag)

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def after(self, owner, name, check):
        """Call ``check(self_obj, result)`` after each ``owner.name``."""
        original = getattr(owner, name, None)
        if original is None:
            self.missing.append('%s.%s' % (owner.__name__, name))
            return

        @functools.wraps(original)
        def watched(obj, *args, **kwargs):
            result = original(obj, *args, **kwargs)
            check(obj)
            return result

        setattr(owner, name, watched)
        self._undo.append(lambda: setattr(owner, name, original))

    def uninstall(self):
        while self._undo:
            self._undo.pop()()

    def since(self, began):
        """The events at or after ``began``: ``[(label, t, key)]``."""
        with self._lock:
            return [e for e in self.events if e[1] >= began]

    def clear(self):
        with self._lock:
            self.events = []


@contextlib.contextmanager
def shrink_fake_poll(seconds):
    """Make oslo.messaging's fake listener poll every ``seconds``.

    ``FakeListener.poll`` sleeps at most 50 ms between two looks at its
    queues (a constant in the driver), so every RPC message waits 25 ms
    on average before its server sees it. The driver calls
    ``time.sleep`` through its module's ``time``; for this block that
    name is a stand-in whose ``sleep`` is capped at ``seconds``. It
    applies to every listener in the process (conductor and computes:
    both sides of each message).
    """
    from oslo_messaging._drivers import impl_fake
    real = impl_fake.time

    class _Time:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def sleep(pause):
            real.sleep(min(pause, seconds))

    impl_fake.time = _Time()
    try:
        yield
    finally:
        impl_fake.time = real


def overlap_ms(intervals, start, end):
    """Milliseconds of ``intervals`` ((start, end, ...)) in [start, end]."""
    return sum(max(0.0, min(b, end) - max(a, start))
               for a, b, *_rest in intervals) * 1000.0


def percentile(values, q):
    """The ``q``-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def cpu_seconds():
    """CPU time (user + system) of this process, all threads."""
    return time.process_time()

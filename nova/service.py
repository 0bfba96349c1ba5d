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

"""Running a nova service: its record, RPC server, heartbeat and timers.

A :class:`Service` wraps one manager. ``start()`` registers the service in
the database, serves the manager over RPC on ``<topic>.<host>`` and starts
two native threads: the heartbeat, which proves the service alive to the
others (:mod:`nova.servicegroup`), and the periodic-task loop.
``serve()`` and ``wait()`` run services until SIGTERM or SIGINT, then stop
them gracefully; SIGHUP reloads the configuration files in between.
"""

import logging as std_logging
import os
import random
import select
import signal
import queue
import socket
import threading
import time
from wsgiref import simple_server

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import importutils
from oslo_utils import timeutils

import nova.conf
from nova import context
from nova import exception
from nova import objects
from nova.objects import base as objects_base
from nova.objects import service as service_obj
from nova import rpc

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# The manager each RPC service runs, by binary name.
SERVICE_MANAGERS = {
    'nova-compute': 'nova.compute.manager.ComputeManager',
    'nova-conductor': 'nova.conductor.manager.ConductorManager',
}

# kill() is for tests and error paths: bounded, unlike a graceful stop.
KILL_TIMEOUT = 10


def _join_within(func, timeout, name):
    """Run ``func`` in a thread and wait at most ``timeout`` seconds.

    Returns True if it finished. ``timeout`` None waits forever. Used for
    waits that have no timeout of their own (oslo.messaging's server wait).
    """
    errors = []

    def runner():
        try:
            func()
        except Exception as exc:
            errors.append(exc)
            LOG.exception('%s failed', name)

    thread = threading.Thread(target=runner, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive() and not errors


class Service:
    """An RPC service: a manager served on ``topic`` as server ``host``."""

    def __init__(self, host, binary, topic, manager, report_interval=None,
                 periodic_enable=True, periodic_interval=None,
                 periodic_fuzzy_delay=None):
        self.host = host
        self.binary = binary
        self.topic = topic
        manager_class = (importutils.import_class(manager)
                         if isinstance(manager, str) else manager)
        self.manager = manager_class(host=host)
        self.report_interval = (CONF.report_interval
                                if report_interval is None
                                else report_interval)
        self.periodic_enable = periodic_enable
        self.periodic_interval = (CONF.periodic_interval
                                  if periodic_interval is None
                                  else periodic_interval)
        self.periodic_fuzzy_delay = (CONF.periodic_fuzzy_delay
                                     if periodic_fuzzy_delay is None
                                     else periodic_fuzzy_delay)
        self.service_ref = None
        self._rpcserver = None
        self._stop_event = threading.Event()
        self._threads = []
        self._heartbeat_failing = False
        self._cleaned_up = False

    def __repr__(self):
        return '<Service %s on %s (topic %s)>' % (self.binary, self.host,
                                                  self.topic)

    @classmethod
    def create(cls, binary, host=None, topic=None, manager=None, **kwargs):
        """A service for ``binary`` with the usual topic and manager.

        ``nova-compute`` gets topic ``compute`` and ComputeManager, and so
        on; ``kwargs`` are the interval overrides of ``__init__``.
        """
        if manager is None:
            try:
                manager = SERVICE_MANAGERS[binary]
            except KeyError:
                reason = 'no manager known for binary %s' % binary
                raise exception.InvalidConfiguration(reason=reason) from None
        if topic is None:
            topic = binary.rpartition('nova-')[2]
        return cls(host or CONF.host, binary, topic, manager, **kwargs)

    # Start.

    def start(self):
        ctxt = context.get_admin_context()
        # The host first: a service that refuses to start (a bad
        # [libvirt]pmem_namespaces, say) leaves no record of itself.
        self.manager.init_host()
        self.service_ref = self._register(ctxt)

        target = messaging.Target(topic=self.topic, server=self.host)
        self._rpcserver = rpc.get_server(
            target, [self.manager],
            serializer=objects_base.NovaObjectSerializer())
        self._rpcserver.start()
        LOG.info('%(binary)s serving RPC topic %(topic)s as %(host)s '
                 '(service version %(version)s).',
                 {'binary': self.binary, 'topic': self.topic,
                  'host': self.host, 'version': self.service_ref.version})
        self.manager.post_start_hook()

        self._start_thread(self._heartbeat_loop, 'heartbeat')
        if self.periodic_enable:
            self._start_thread(self._periodic_loop, 'periodic')

    def _start_thread(self, target, what):
        # Daemon threads: a stuck database call must not keep a stopped
        # process alive; wait() still joins them when they do finish.
        thread = threading.Thread(target=target, daemon=True,
                                  name='%s-%s' % (self.binary, what))
        thread.start()
        self._threads.append(thread)

    def _register(self, ctxt):
        """Create this service's record, or bring its version up to date."""
        version = service_obj.SERVICE_VERSION
        try:
            ref = objects.Service.get_by_host_and_binary(ctxt, self.host,
                                                         self.binary)
        except exception.HostBinaryNotFound:
            ref = objects.Service(context=ctxt, host=self.host,
                                  binary=self.binary, topic=self.topic,
                                  version=version)
            try:
                ref.create()
                LOG.info('Registered %s on %s as a new service.',
                         self.binary, self.host)
                return ref
            except exception.ServiceExists:
                # Another process with our host name registered first.
                ref = objects.Service.get_by_host_and_binary(
                    ctxt, self.host, self.binary)
        if ref.version != version:
            if ref.version > version:
                LOG.warning('%(binary)s on %(host)s was last run at service '
                            'version %(old)s; this code is older '
                            '(%(new)s). Recording %(new)s so that other '
                            'services do not send it newer RPC calls.',
                            {'binary': self.binary, 'host': self.host,
                             'old': ref.version, 'new': version})
            ref.version = version
            ref.save()
        return ref

    # Heartbeat.

    def _heartbeat_loop(self):
        while True:
            self.report_state()
            if self._stop_event.wait(self.report_interval):
                return

    def report_state(self):
        """Write one heartbeat: count it and stamp ``last_seen_up``."""
        ref = self.service_ref
        ref.report_count += 1
        ref.last_seen_up = timeutils.utcnow()
        try:
            ref.save()
        except Exception:
            # The next heartbeat retries; log the first failure with its
            # traceback and the recovery, not a line every interval.
            if not self._heartbeat_failing:
                LOG.exception('Heartbeat of %s on %s failed; the service '
                              'will look down to the others until it '
                              'succeeds again.', self.binary, self.host)
                self._heartbeat_failing = True
            return
        if self._heartbeat_failing:
            LOG.info('Heartbeat of %s on %s works again.', self.binary,
                     self.host)
            self._heartbeat_failing = False

    # Periodic tasks.

    def _periodic_loop(self):
        if self.periodic_fuzzy_delay:
            # Spread services started together over the first interval.
            delay = random.randint(0, self.periodic_fuzzy_delay)
            if self._stop_event.wait(delay):
                return
        while not self._stop_event.is_set():
            # A context per round: its request id tells rounds apart in
            # the logs.
            idle = self.manager.periodic_tasks(context.get_admin_context())
            if self._stop_event.wait(min(idle, self.periodic_interval)):
                return

    # Stop.

    def stop(self):
        """Stop taking RPC requests and wake the background threads."""
        self._stop_event.set()
        if self._rpcserver is not None:
            self._rpcserver.stop()

    def wait(self, timeout=None):
        """Wait for in-flight requests and threads, then clean the host.

        ``timeout`` bounds the whole wait (None: forever). Returns True if
        everything finished in time.
        """
        deadline = None if timeout is None else time.monotonic() + timeout

        def remaining():
            if deadline is None:
                return None
            return max(0.0, deadline - time.monotonic())

        finished = True
        if self._rpcserver is not None:
            finished = _join_within(self._rpcserver.wait, remaining(),
                                    '%s-rpc-wait' % self.binary)
            if not finished:
                LOG.warning('%s on %s: RPC requests still running after '
                            'the shutdown timeout; stopping anyway.',
                            self.binary, self.host)
        for thread in self._threads:
            thread.join(remaining())
            if thread.is_alive():
                LOG.warning('%s still busy at shutdown.', thread.name)
                finished = False
        if not self._cleaned_up:
            self._cleaned_up = True
            self.manager.cleanup_host()
        return finished

    def kill(self):
        """Stop now, waiting only briefly (tests, failed starts)."""
        self.stop()
        return self.wait(timeout=KILL_TIMEOUT)


class _WorkerPool:
    """At most ``size`` daemon threads running submitted calls.

    A thread is created only when no idle one can take the call, and then
    stays for the next ones. ``submit`` waits while all are busy, so the
    caller (the accept loop) stops accepting and new connections wait in
    the kernel's backlog instead of each getting a thread.
    """

    def __init__(self, size, name):
        self._name = name
        self._size = size
        self._slots = threading.BoundedSemaphore(size)
        self._tasks = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, func, *args, stop_event=None):
        """Run ``func(*args)`` on a worker; False if stopped meanwhile."""
        # Wake up now and then: a stop must not wait for a busy worker.
        while not self._slots.acquire(timeout=0.5):
            if stop_event is not None and stop_event.is_set():
                return False
        with self._lock:
            spawn = self._idle == 0 and self._threads < self._size
            if spawn:
                self._threads += 1
            else:
                self._idle -= 1
        self._tasks.put((func, args))
        if spawn:
            threading.Thread(target=self._work, daemon=True,
                             name='%s-%d' % (self._name,
                                             self._threads)).start()
        return True

    def _work(self):
        while True:
            func, args = self._tasks.get()
            if func is None:
                return
            try:
                func(*args)
            except Exception:
                LOG.exception('%s: request handling failed', self._name)
            finally:
                with self._lock:
                    self._idle += 1
                self._slots.release()

    def close(self):
        """Let the workers end once they finished their call."""
        with self._lock:
            count = self._threads
        for _ in range(count):
            self._tasks.put((None, ()))


class _PooledWSGIServer(simple_server.WSGIServer):
    """wsgiref's server with a listen backlog and a bounded worker pool.

    socketserver's default backlog of 5 reset most of a burst of
    concurrent clients; ThreadingMixIn's thread per connection had no
    bound at all.
    """

    def __init__(self, server_address, handler_class, backlog, pool_size,
                 name):
        # Read by server_activate(), which the constructor calls.
        self.request_queue_size = backlog
        self._pool = _WorkerPool(pool_size, '%s-worker' % name)
        self._stopping = threading.Event()
        super().__init__(server_address, handler_class)

    def process_request(self, request, client_address):
        if not self._pool.submit(self._handle, request, client_address,
                                 stop_event=self._stopping):
            self.shutdown_request(request)

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def begin_stop(self):
        self._stopping.set()

    def server_close(self):
        super().server_close()
        self._pool.close()


class _PooledWSGIServerV6(_PooledWSGIServer):
    address_family = socket.AF_INET6


class _LoggingRequestHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):
        # wsgiref writes access lines to stderr; send them to our log.
        LOG.info('%s %s', self.address_string(), format % args)


class WSGIService:
    """A WSGI application served over HTTP by threads of this process.

    ``backlog`` and ``pool_size`` default to [wsgi]backlog and
    [wsgi]default_pool_size.
    """

    def __init__(self, name, app, host, port, backlog=None, pool_size=None):
        self.name = name
        self.app = app
        self.host = host
        self.port = port
        self.backlog = CONF.wsgi.backlog if backlog is None else backlog
        self.pool_size = (CONF.wsgi.default_pool_size if pool_size is None
                          else pool_size)
        self._server = None
        self._thread = None

    def start(self):
        server_class = (_PooledWSGIServerV6 if ':' in self.host
                        else _PooledWSGIServer)
        self._server = server_class(
            (self.host, self.port), _LoggingRequestHandler,
            backlog=self.backlog, pool_size=self.pool_size, name=self.name)
        self._server.set_app(self.app)
        # With port 0 the system picks one; report what we got.
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name='%s-http' % self.name,
            daemon=True)
        self._thread.start()
        LOG.info('%s listening on http://%s:%s/ (backlog %d, %d workers)',
                 self.name, self.host, self.port, self.backlog,
                 self.pool_size)

    def stop(self):
        if self._server is not None:
            self._server.begin_stop()
            self._server.shutdown()

    def wait(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)
        if self._server is not None:
            self._server.server_close()
        return self._thread is None or not self._thread.is_alive()

    def kill(self):
        self.stop()
        return self.wait(timeout=KILL_TIMEOUT)


def reload_config():
    """Re-read the configuration files and apply what may change live.

    oslo.config applies only the options marked mutable (oslo.log's
    ``debug`` and ``log_config_append`` among them, through its mutate
    hook) and logs each change and each immutable option that was edited.
    Returns the changed options, or None when the files could not be
    read: the service then runs on with the configuration it had.
    """
    try:
        changed = CONF.mutate_config_files()
    except Exception as exc:
        LOG.error('Configuration not reloaded, the previous one stays in '
                  'effect: %s. Fix the file and send SIGHUP again.', exc)
        return None
    if changed:
        LOG.info('Configuration reloaded; changed: %s.', ', '.join(
            '[%s]%s' % (group or 'DEFAULT', name)
            for group, name in sorted(changed, key=lambda k: (k[0] or '',
                                                             k[1]))))
    else:
        LOG.info('Configuration reloaded; no mutable option changed.')
    # With debug on (perhaps just now), the values in effect, secrets
    # masked: what an operator compares with the file.
    CONF.log_opt_values(LOG, std_logging.DEBUG)
    return changed


class Launcher:
    """Runs services until SIGTERM or SIGINT, then stops them.

    The signal handlers only record the signal; a pipe registered with
    ``signal.set_wakeup_fd`` wakes the waiting main thread, so no lock is
    taken inside a handler and no signal is missed between checks. SIGHUP
    reloads the configuration files and the services run on (operators
    send it with ``systemctl reload``; its default action would kill the
    process). The first stop signal starts a graceful stop; the previous
    handlers of the stop signals are back in place for a second one.
    """

    STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
    RELOAD_SIGNAL = signal.SIGHUP

    def __init__(self):
        self.services = []
        self.received = None
        self.reload_requested = False
        self._old_handlers = {}
        self._old_wakeup_fd = None
        self._wakeup_r = self._wakeup_w = None

    def install_handlers(self):
        """Catch the stop signals (main thread only)."""
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_w, False)
        self._old_wakeup_fd = signal.set_wakeup_fd(self._wakeup_w)
        for signo in self.STOP_SIGNALS + (self.RELOAD_SIGNAL,):
            self._old_handlers[signo] = signal.signal(signo, self._on_signal)

    def restore_handlers(self, signals=None):
        """Put back the previous handlers of ``signals`` (default: all).

        The wakeup pipe goes only with the last handler.
        """
        for signo in list(signals or self._old_handlers):
            if signo in self._old_handlers:
                signal.signal(signo, self._old_handlers.pop(signo))
        if self._old_handlers:
            return
        if self._wakeup_r is not None:
            signal.set_wakeup_fd(self._old_wakeup_fd)
            os.close(self._wakeup_r)
            os.close(self._wakeup_w)
            self._wakeup_r = self._wakeup_w = None

    def _on_signal(self, signo, frame):
        if signo == self.RELOAD_SIGNAL:
            self.reload_requested = True
        elif self.received is None:
            self.received = signo

    def launch(self, service):
        service.start()
        self.services.append(service)

    def wait_for_signal(self):
        """Block until a stop signal; reload on each SIGHUP meanwhile."""
        while self.received is None:
            if self.reload_requested:
                # Cleared first: a SIGHUP during the reload asks again.
                self.reload_requested = False
                LOG.info('Caught SIGHUP, reloading the configuration '
                         'files.')
                reload_config()
                continue
            select.select([self._wakeup_r], [], [])
            os.read(self._wakeup_r, 512)
        return self.received

    def stop(self):
        """Stop every service, bounded by ``graceful_shutdown_timeout``."""
        timeout = CONF.graceful_shutdown_timeout or None
        deadline = None if timeout is None else time.monotonic() + timeout
        for service in self.services:
            service.stop()
        clean = True
        for service in self.services:
            left = (None if deadline is None
                    else max(0.0, deadline - time.monotonic()))
            try:
                clean = service.wait(timeout=left) and clean
            except Exception:
                # One service failing to clean up must not keep the
                # others from stopping; the error is logged, not hidden.
                LOG.exception('Error while stopping %r', service)
                clean = False
        return clean

    def wait(self):
        """Block until a stop signal, then stop the services.

        Returns True if everything stopped within the graceful shutdown
        timeout.
        """
        try:
            signo = self.wait_for_signal()
            LOG.info('Caught %s, stopping services.',
                     signal.Signals(signo).name)
            # From here a second stop signal has its usual effect: an
            # operator can still kill a shutdown that hangs. SIGHUP stays
            # caught (and ignored) until the end: a reload never kills.
            self.restore_handlers(self.STOP_SIGNALS)
            clean = self.stop()
            if not clean:
                LOG.warning('Shutdown did not finish within '
                            'graceful_shutdown_timeout (%s s).',
                            CONF.graceful_shutdown_timeout)
        finally:
            self.restore_handlers()
        return clean


_launcher = None


def serve(*services):
    """Start ``services`` in this process; stop signals are caught first."""
    global _launcher
    if _launcher is not None:
        raise RuntimeError('serve() can only be called once')
    _launcher = Launcher()
    _launcher.install_handlers()
    try:
        for service in services:
            _launcher.launch(service)
    except BaseException:
        for service in _launcher.services:
            service.kill()
        _launcher.restore_handlers()
        _launcher = None
        raise


def wait():
    """Run until SIGTERM or SIGINT, then stop what ``serve()`` started.

    Returns True if the services stopped within the graceful timeout.
    """
    global _launcher
    if _launcher is None:
        raise RuntimeError('serve() must be called before wait()')
    try:
        return _launcher.wait()
    finally:
        _launcher = None

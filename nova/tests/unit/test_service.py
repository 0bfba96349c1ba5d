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

"""Services: record, heartbeat, periodic tasks, stop and the launcher."""

import json
import os
import signal
import threading
import time
import urllib.request
from unittest import mock

from oslo_service import periodic_task

from nova.api import wsgi as api_wsgi
from nova.compute import manager as compute_manager
from nova.conductor import manager as conductor_manager
from nova import context
from nova import exception
from nova import manager
from nova import objects
from nova.objects import service as service_obj
from nova import service
from nova import test


def _wait_for(predicate, timeout=10, interval=0.02):
    """Poll ``predicate`` until true; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError('condition not met within %s s' % timeout)


class CountingManager(manager.Manager):
    """A manager with a fast periodic task, for the periodic loop."""

    def __init__(self, host=None):
        super().__init__(host=host, service_name='counting')
        self.runs = 0
        self.ran = threading.Event()

    @periodic_task.periodic_task(spacing=0.05, run_immediately=True)
    def count(self, context):
        self.runs += 1
        if self.runs >= 3:
            self.ran.set()


class TestServiceCreate(test.NoDBTestCase):

    def test_compute_defaults(self):
        svc = service.Service.create(binary='nova-compute', host='h1')
        self.assertEqual(('h1', 'nova-compute', 'compute'),
                         (svc.host, svc.binary, svc.topic))
        self.assertIsInstance(svc.manager, compute_manager.ComputeManager)
        self.assertEqual('h1', svc.manager.host)

    def test_conductor_defaults(self):
        svc = service.Service.create(binary='nova-conductor')
        self.assertEqual(('test-host', 'conductor'), (svc.host, svc.topic))
        self.assertIsInstance(svc.manager,
                              conductor_manager.ConductorManager)

    def test_intervals_from_config(self):
        self.flags(report_interval=7, periodic_interval=11,
                   periodic_fuzzy_delay=3)
        svc = service.Service.create(binary='nova-compute')
        self.assertEqual((7, 11, 3), (svc.report_interval,
                                      svc.periodic_interval,
                                      svc.periodic_fuzzy_delay))

    def test_unknown_binary(self):
        self.assertRaises(exception.InvalidConfiguration,
                          service.Service.create, binary='nova-unknown')

    def test_explicit_manager_and_topic(self):
        svc = service.Service.create(binary='nova-x', topic='xt',
                                     manager=CountingManager)
        self.assertEqual('xt', svc.topic)
        self.assertIsInstance(svc.manager, CountingManager)


class TestComputeManager(test.NoDBTestCase):

    def test_resource_update_spacing_from_config(self):
        self.flags(update_resources_interval=17, group='compute')
        mgr = compute_manager.ComputeManager(host='h')
        self.assertEqual(17, mgr._periodic_spacing[
            'update_available_resource'])
        # The class keeps its own table; other managers are unaffected.
        self.assertNotEqual(17, compute_manager.ComputeManager
                            ._periodic_spacing['update_available_resource'])

    def test_resource_update_zero_means_every_tick(self):
        self.flags(update_resources_interval=0, group='compute')
        self.flags(periodic_interval=9)
        mgr = compute_manager.ComputeManager(host='h')
        self.assertEqual(9, mgr._periodic_spacing[
            'update_available_resource'])

    def test_ping(self):
        mgr = compute_manager.ComputeManager(host='h')
        self.assertEqual({'host': 'h', 'arg': [1]},
                         mgr.ping(context.get_admin_context(), [1]))


class TestService(test.TestCase):

    USES_PLACEMENT = True

    def _record(self, host='test-host', binary='nova-compute'):
        return objects.Service.get_by_host_and_binary(self.context, host,
                                                      binary)

    def test_start_registers_record(self):
        self.start_service('nova-compute', host='h1')
        record = self._record('h1')
        self.assertEqual(service_obj.SERVICE_VERSION, record.version)
        self.assertEqual('compute', record.topic)
        self.assertFalse(record.forced_down)
        self.assertIsNotNone(record.uuid)

    def test_start_updates_version_of_existing_record(self):
        old = objects.Service(context=self.context, host='h1',
                              binary='nova-compute', topic='compute',
                              version=0)
        old.create()
        self.start_service('nova-compute', host='h1')
        record = self._record('h1')
        self.assertEqual(old.id, record.id)
        self.assertEqual(service_obj.SERVICE_VERSION, record.version)

    def test_start_with_newer_record_records_running_version(self):
        newer = service_obj.SERVICE_VERSION + 5
        objects.Service(context=self.context, host='h1',
                        binary='nova-compute', topic='compute',
                        version=newer).create()
        self.start_service('nova-compute', host='h1')
        self.assertEqual(service_obj.SERVICE_VERSION,
                         self._record('h1').version)

    def test_restart_keeps_record(self):
        svc = self.start_service('nova-conductor', host='c1')
        first_id = svc.service_ref.id
        svc.kill()
        again = self.start_service('nova-conductor', host='c1')
        self.assertEqual(first_id, again.service_ref.id)

    def test_heartbeat_increments_report_count(self):
        svc = self.start_service('nova-compute', host='h1',
                                 report_interval=0.05)
        _wait_for(lambda: self._record('h1').report_count >= 3)
        record = self._record('h1')
        self.assertIsNotNone(record.last_seen_up)
        self.assertGreaterEqual(svc.service_ref.report_count, 3)

    def test_heartbeat_failure_logged_once_and_recovery(self):
        svc = service.Service.create(binary='nova-compute', host='h1')
        svc.service_ref = mock.Mock(report_count=0)
        svc.service_ref.save.side_effect = [Exception('db gone'),
                                            Exception('db gone'), None]
        with mock.patch.object(service, 'LOG') as log:
            svc.report_state()
            svc.report_state()
            svc.report_state()
        self.assertEqual(1, log.exception.call_count)
        self.assertEqual(1, log.info.call_count)
        self.assertEqual(3, svc.service_ref.report_count)

    def test_stop_is_prompt(self):
        # Long intervals: stop must not wait for the next tick.
        svc = self.start_service('nova-compute', host='h1',
                                 report_interval=60, periodic_interval=60)
        threads = list(svc._threads)
        self.assertEqual(2, len(threads))
        start = time.monotonic()
        svc.stop()
        self.assertTrue(svc.wait(timeout=10))
        self.assertLess(time.monotonic() - start, 5)
        self.assertFalse(any(t.is_alive() for t in threads))

    def test_stopped_service_no_longer_answers(self):
        from nova.compute import rpcapi
        svc = self.start_service('nova-compute', host='h1')
        api = rpcapi.ComputeAPI()
        self.assertEqual('h1', api.ping(self.context, 'h1', 0)['host'])
        svc.kill()
        import oslo_messaging as messaging
        self.assertRaises(messaging.MessagingTimeout, api.ping,
                          self.context, 'h1', 0, timeout=0.3)

    def test_wait_calls_cleanup_host_once(self):
        svc = self.start_service('nova-compute', host='h1')
        with mock.patch.object(svc.manager, 'cleanup_host') as cleanup:
            svc.kill()
            svc.kill()
        cleanup.assert_called_once_with()

    def test_periodic_tasks_run(self):
        svc = self.start_service('nova-counting', manager=CountingManager,
                                 periodic_interval=0.05)
        self.assertTrue(svc.manager.ran.wait(5))
        self.assertGreaterEqual(svc.manager.runs, 3)

    def test_periodic_disabled(self):
        svc = self.start_service('nova-counting', manager=CountingManager,
                                 periodic_enable=False)
        self.assertEqual(1, len(svc._threads))
        self.assertFalse(svc.manager.ran.wait(0.3))
        self.assertEqual(0, svc.manager.runs)

    def test_compute_resource_update_runs_at_start(self):
        svc = self.start_service('nova-compute', host='h1')
        _wait_for(lambda: svc.manager._periodic_last_run[
            'update_available_resource'] is not None)

    def test_init_host_before_rpc(self):
        order = []
        real_get_server = service.rpc.get_server

        def get_server(*args, **kwargs):
            order.append('rpc')
            return real_get_server(*args, **kwargs)

        with mock.patch.object(compute_manager.ComputeManager, 'init_host',
                               side_effect=lambda: order.append('init')), \
                mock.patch.object(service.rpc, 'get_server', get_server):
            self.start_service('nova-compute', host='h1')
        self.assertEqual(['init', 'rpc'], order)


class TestLauncher(test.TestCase):

    USES_PLACEMENT = True

    def _kill_self_soon(self, signo, delay=0.2):
        timer = threading.Timer(delay, os.kill, (os.getpid(), signo))
        timer.start()
        self.addCleanup(timer.cancel)

    def _serve(self, *services):
        # If a test fails before wait(), leave no handlers behind.
        def cleanup():
            if service._launcher is not None:
                service._launcher.restore_handlers()
                service._launcher.stop()
                service._launcher = None
        self.addCleanup(cleanup)
        service.serve(*services)

    def _check_signal_stops(self, signo):
        before = signal.getsignal(signo)
        svc = service.Service.create(binary='nova-compute', host='h1',
                                     report_interval=60)
        self._serve(svc)
        self._kill_self_soon(signo)
        start = time.monotonic()
        self.assertTrue(service.wait())
        self.assertLess(time.monotonic() - start, 5)
        self.assertTrue(svc._stop_event.is_set())
        self.assertFalse(any(t.is_alive() for t in svc._threads))
        self.assertIs(before, signal.getsignal(signo))
        self.assertIsNone(service._launcher)

    def test_sigterm_stops_services(self):
        self._check_signal_stops(signal.SIGTERM)

    def test_sigint_stops_services(self):
        self._check_signal_stops(signal.SIGINT)

    def test_second_signal_has_default_effect_during_stop(self):
        before = signal.getsignal(signal.SIGTERM)
        seen = []

        def stop(launcher):
            seen.append(signal.getsignal(signal.SIGTERM))
            return True

        self._serve()
        self._kill_self_soon(signal.SIGTERM)
        with mock.patch.object(service.Launcher, 'stop', autospec=True,
                               side_effect=stop):
            self.assertTrue(service.wait())
        self.assertEqual([before], seen)

    def test_sighup_reloads_and_keeps_serving(self):
        svc = service.Service.create(binary='nova-compute', host='h1',
                                     report_interval=60)
        self._serve(svc)
        reloaded = threading.Event()
        with mock.patch.object(service, 'reload_config',
                               side_effect=lambda: reloaded.set()):
            self._kill_self_soon(signal.SIGHUP, delay=0.1)
            self._kill_self_soon(signal.SIGTERM, delay=1.0)
            seen_running = []

            def check_running():
                reloaded.wait(5)
                seen_running.append(not svc._stop_event.is_set())

            checker = threading.Thread(target=check_running)
            checker.start()
            self.assertTrue(service.wait())
            checker.join()
        self.assertTrue(reloaded.is_set())
        self.assertEqual([True], seen_running)

    def test_sighup_stays_caught_during_stop(self):
        before = signal.getsignal(signal.SIGHUP)
        seen = []

        def stop(launcher):
            # Still ours (it only records), not the default that kills.
            seen.append(signal.getsignal(signal.SIGHUP))
            return True

        self._serve()
        self._kill_self_soon(signal.SIGTERM)
        with mock.patch.object(service.Launcher, 'stop', autospec=True,
                               side_effect=stop):
            self.assertTrue(service.wait())
        self.assertEqual(1, len(seen))
        self.assertIsNot(before, seen[0])
        self.assertIs(before, signal.getsignal(signal.SIGHUP))

    def test_serve_twice_refused(self):
        self._serve()
        self.assertRaises(RuntimeError, service.serve)

    def test_wait_without_serve_refused(self):
        self.assertRaises(RuntimeError, service.wait)

    def test_failed_start_stops_started_services(self):
        before = signal.getsignal(signal.SIGTERM)
        good = service.Service.create(binary='nova-conductor', host='c1')
        bad = service.Service.create(binary='nova-compute', host='h1')
        with mock.patch.object(bad.manager, 'init_host',
                               side_effect=RuntimeError('no driver')):
            self.assertRaises(RuntimeError, service.serve, good, bad)
        self.assertTrue(good._stop_event.is_set())
        self.assertIsNone(service._launcher)
        self.assertIs(before, signal.getsignal(signal.SIGTERM))

    def test_graceful_timeout_bounds_stop(self):
        self.flags(graceful_shutdown_timeout=1)
        svc = service.Service.create(binary='nova-compute', host='h1')
        launcher = service.Launcher()
        launcher.launch(svc)
        self.addCleanup(svc.kill)
        release = threading.Event()
        self.addCleanup(release.set)
        # An RPC request that does not finish before the timeout.
        real_wait = svc._rpcserver.wait

        def slow_wait():
            release.wait(30)
            real_wait()

        svc._rpcserver.wait = slow_wait
        start = time.monotonic()
        self.assertFalse(launcher.stop())
        self.assertLess(time.monotonic() - start, 5)


class TestWSGIService(test.NoDBTestCase):

    def test_serves_and_stops(self):
        server = service.WSGIService('nova-api', api_wsgi.make_app(),
                                     '127.0.0.1', 0)
        server.start()
        self.addCleanup(server.kill)
        self.assertNotEqual(0, server.port)
        url = 'http://127.0.0.1:%s/v2.1' % server.port
        with urllib.request.urlopen(url, timeout=5) as response:
            doc = json.loads(response.read())
        self.assertEqual('v2.1', doc['version']['id'])
        start = time.monotonic()
        server.stop()
        self.assertTrue(server.wait(timeout=5))
        self.assertLess(time.monotonic() - start, 5)
        self.assertRaises(OSError, urllib.request.urlopen, url, timeout=2)


    def test_serves_ipv6(self):
        server = service.WSGIService('nova-api', api_wsgi.make_app(),
                                     '::1', 0)
        server.start()
        self.addCleanup(server.kill)
        url = 'http://[::1]:%s/' % server.port
        with urllib.request.urlopen(url, timeout=5) as response:
            doc = json.loads(response.read())
        self.assertEqual('http://[::1]:%s/v2.1/' % server.port,
                         doc['versions'][-1]['links'][0]['href'])


class TestReloadConfig(test.NoDBTestCase):

    def test_reports_changed_options(self):
        with mock.patch.object(service.CONF, 'mutate_config_files',
                               return_value={(None, 'debug'): (False, True)}):
            with self.assertLogs('nova.service', 'INFO') as logs:
                self.assertEqual({(None, 'debug'): (False, True)},
                                 service.reload_config())
        self.assertIn('changed: [DEFAULT]debug.', logs.output[0])

    def test_unreadable_file_keeps_running(self):
        with mock.patch.object(service.CONF, 'mutate_config_files',
                               side_effect=ValueError('bad line 3')):
            with self.assertLogs('nova.service', 'ERROR') as logs:
                self.assertIsNone(service.reload_config())
        self.assertIn('previous one stays in effect: bad line 3',
                      logs.output[0])

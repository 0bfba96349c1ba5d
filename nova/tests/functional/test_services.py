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

"""The service commands as real processes: start, heartbeat, SIGTERM.

Each test writes a nova.conf into a temporary directory (SQLite file,
fake:// messaging), runs ``nova-manage db sync`` and the services as
subprocesses of this interpreter, and watches them through the database
file and HTTP, as an operator would.
"""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import fixtures
import testtools
from testtools import content
import webob

from nova.api import wsgi
from nova.compute import vm_states
from nova.compute import vpmem_audit
from nova import exception
from nova import objects
from nova import servicegroup
from nova.tests.functional import base

# Start each command through this interpreter, so the test works in any
# virtualenv (tox, CI) whether or not its console scripts are on PATH.
_COMMANDS = {
    'nova-manage': 'nova.cmd.manage',
    'nova-api': 'nova.cmd.api',
    'nova-conductor': 'nova.cmd.conductor',
    'nova-compute': 'nova.cmd.compute',
}

START_TIMEOUT = 60
STOP_TIMEOUT = 15


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class ServiceProcessTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.db_path = os.path.join(self.tmp, 'nova.sqlite')
        self.api_port = _free_port()
        self.placement_port = _free_port()
        self.conf_path = os.path.join(self.tmp, 'nova.conf')
        with open(self.conf_path, 'w') as conf:
            conf.write(
                '[DEFAULT]\n'
                'host = functional-host\n'
                'state_path = %(tmp)s\n'
                'transport_url = fake://\n'
                'report_interval = 1\n'
                'periodic_interval = 1\n'
                'graceful_shutdown_timeout = 10\n'
                '[database]\n'
                'connection = sqlite:///%(db)s\n'
                '[libvirt]\n'
                'connection_uri = emulated://functional-host\n'
                '[api]\n'
                'listen = 127.0.0.1\n'
                'port = %(port)s\n'
                '[placement]\n'
                'auth_type = admin_token\n'
                'endpoint = http://127.0.0.1:%(placement)s\n'
                'token = admin\n'
                % {'tmp': self.tmp, 'db': self.db_path,
                   'port': self.api_port, 'placement': self.placement_port})

    def _argv(self, command, *args):
        module = _COMMANDS[command]
        code = 'import sys; from %s import main; sys.exit(main())' % module
        return [sys.executable, '-c', code, '--config-file',
                self.conf_path] + list(args)

    def _run(self, command, *args):
        return subprocess.run(self._argv(command, *args),
                              capture_output=True, text=True, timeout=120)

    def _start(self, command):
        log_path = os.path.join(self.tmp, '%s.log' % command)
        output = open(os.path.join(self.tmp, '%s.out' % command), 'w+')
        self.addCleanup(output.close)
        proc = subprocess.Popen(self._argv(command, '--log-file', log_path),
                                stdout=output, stderr=subprocess.STDOUT)
        # Cleanups run last-in first-out: the files are attached to the
        # result after the process ended and before the directory goes.
        self.addCleanup(self._attach, '%s-output' % command, output.name)
        self.addCleanup(self._attach, '%s-log' % command, log_path)
        self.addCleanup(self._reap, proc)
        return proc

    def _start_placement(self):
        # nova-compute reports its inventory to placement when it starts.
        db = 'sqlite:///%s' % os.path.join(self.tmp, 'placement.sqlite')
        argv = [sys.executable, '-m', 'nova.embedded.placement',
                '--port', str(self.placement_port), '--connection', db]
        output = open(os.path.join(self.tmp, 'placement.out'), 'w+')
        self.addCleanup(output.close)
        proc = subprocess.Popen(argv, stdout=output,
                                stderr=subprocess.STDOUT)
        self.addCleanup(self._attach, 'placement-output', output.name)
        self.addCleanup(self._reap, proc)
        self.addCleanup(self._stop, proc)

        def listening():
            with open(output.name) as out:
                return 'placement listening' in out.read()
        self._wait_until(listening, [proc], 'placement to listen')
        return proc

    def _attach(self, name, path):
        if os.path.exists(path):
            self.addDetail(name, content.content_from_file(path,
                                                           buffer_now=True))

    def _reap(self, proc):
        # Only for a test that failed before stopping its process.
        if proc.poll() is None:
            proc.kill()
            proc.wait(STOP_TIMEOUT)

    def _stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        return proc.wait(STOP_TIMEOUT)

    def _db_sync(self):
        result = self._run('nova-manage', 'db', 'sync')
        self.assertEqual(0, result.returncode, result.stderr)

    def _report_counts(self):
        if not os.path.exists(self.db_path):
            return {}
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            rows = conn.execute(
                'SELECT "binary", report_count, version FROM services '
                'WHERE host = ? AND deleted = 0', ('functional-host',))
            return {binary: (count, version)
                    for binary, count, version in rows}
        finally:
            conn.close()

    def _wait_until(self, predicate, procs, what):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for proc in procs:
                if proc.poll() is not None:
                    self.fail('%s exited with %s while waiting for %s'
                              % (proc.args, proc.returncode, what))
            if predicate():
                return
            time.sleep(0.2)
        self.fail('timed out waiting for %s' % what)


class TestRPCServiceProcesses(ServiceProcessTestCase):

    def test_conductor_and_compute_heartbeat_and_stop_on_sigterm(self):
        from nova.objects import service as service_obj

        self._db_sync()
        self._start_placement()
        conductor = self._start('nova-conductor')
        compute = self._start('nova-compute')

        def both_beating():
            counts = self._report_counts()
            return all(counts.get(binary, (0, 0))[0] >= 2
                       for binary in ('nova-conductor', 'nova-compute'))

        self._wait_until(both_beating, [conductor, compute],
                         'two heartbeats of each service')
        records = self._report_counts()
        for binary in ('nova-conductor', 'nova-compute'):
            self.assertEqual(service_obj.SERVICE_VERSION, records[binary][1])

        # What an operator sees: both up, with their versions.
        listing = self._run('nova-manage', 'service', 'list')
        self.assertEqual(0, listing.returncode, listing.stderr)
        rows = {line.split()[1]: line.split()
                for line in listing.stdout.splitlines()[1:-1]}
        for binary in ('nova-conductor', 'nova-compute'):
            host, _binary, version, state, status = rows[binary][:5]
            self.assertEqual(('functional-host', str(
                service_obj.SERVICE_VERSION), 'up', 'enabled'),
                (host, version, state, status))

        for proc in (conductor, compute):
            start = time.monotonic()
            self.assertEqual(0, self._stop(proc))
            self.assertLess(time.monotonic() - start, 10)
        for command in ('nova-conductor', 'nova-compute'):
            with open(os.path.join(self.tmp, '%s.log' % command)) as log:
                text = log.read()
            self.assertIn('Caught SIGTERM', text)
            self.assertIn('%s stopped.' % command, text)
            self.assertNotIn('Traceback', text)

    def test_unsynced_database_fails_with_one_clear_line(self):
        # No db sync: the schema check must refuse to start.
        result = self._run('nova-compute')
        self.assertEqual(1, result.returncode)
        output = result.stdout + result.stderr
        errors = [line for line in output.splitlines() if ' ERROR ' in line]
        self.assertEqual(1, len(errors), output)
        self.assertIn('nova-compute could not start', errors[0])
        self.assertIn('nova-manage db sync', errors[0])
        self.assertNotIn('Traceback', output)

    def test_missing_config_file_fails(self):
        os.unlink(self.conf_path)
        result = self._run('nova-conductor')
        self.assertNotEqual(0, result.returncode)
        self.assertIn(self.conf_path, result.stderr)
        self.assertNotIn('Traceback', result.stderr)


class TestAPIProcess(ServiceProcessTestCase):

    def _get(self, path):
        url = 'http://127.0.0.1:%s%s' % (self.api_port, path)
        with urllib.request.urlopen(url, timeout=5) as response:
            self.assertEqual(200, response.status)
            return json.loads(response.read())

    def _listening(self):
        try:
            with socket.create_connection(('127.0.0.1', self.api_port),
                                          timeout=1):
                return True
        except OSError:
            return False

    def test_version_discovery_and_stop_on_sigterm(self):
        self._db_sync()
        api = self._start('nova-api')
        self._wait_until(self._listening, [api], 'nova-api to listen')

        listing = self._get('/')
        self.assertEqual(['v2.0', 'v2.1'],
                         [v['id'] for v in listing['versions']])
        for path in ('/v2.1', '/v2.1/'):
            doc = self._get(path)['version']
            self.assertEqual(('v2.1', 'CURRENT', '2.1'),
                             (doc['id'], doc['status'], doc['min_version']))
            self.assertEqual(
                'http://127.0.0.1:%s/v2.1/' % self.api_port,
                doc['links'][0]['href'])
        self.assertRaises(urllib.error.HTTPError, self._get, '/v2.1/nothing')

        self.assertEqual(0, self._stop(api))
        self.assertFalse(self._listening())

    def test_port_in_use_fails_with_one_clear_line(self):
        with socket.socket() as busy:
            busy.bind(('127.0.0.1', self.api_port))
            busy.listen()
            result = self._run('nova-api')
        self.assertEqual(1, result.returncode)
        output = result.stdout + result.stderr
        self.assertIn('nova-api could not start', output)
        self.assertNotIn('Traceback', output)


class ServiceOperationsTestCase(base.VPMEMTestBase):
    """Draining a host through /os-services, with real computes, placement
    and database, and the API served in-process."""

    COMPUTES = {
        'compute-a': ['SMALL:ns0|ns1'],
        'compute-b': ['SMALL:ns0|ns1'],
        'compute-c': ['SMALL:ns0|ns1'],
    }

    def setUp(self):
        super().setUp()
        self.flags(my_ip='192.0.2.44')
        for host in self.computes:
            self.run_periodic(host)
        self.app = wsgi.APIApplication(auth_strategy='noauth2')
        self.flavor = self.create_flavor()

    def call(self, method, path, version='2.53', body=None, status=200):
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers['X-Auth-Token'] = 'admin'
        req.headers['OpenStack-API-Version'] = 'compute %s' % version
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        resp = req.get_response(self.app)
        self.assertEqual(status, resp.status_int, resp.text)
        return resp.json if resp.body else resp.text

    def service(self, host):
        return objects.Service.get_by_compute_host(self.context, host)

    def set_status(self, host, status, reason=None):
        body = {'status': status}
        if reason:
            body['disabled_reason'] = reason
        return self.call('PUT', '/os-services/%s' % self.service(host).uuid,
                         body=body)['service']

    def scheduled_live_migration(self, instance):
        migration = self.api.live_migrate(self.context, instance)
        deadline = time.monotonic() + self.TIMEOUT
        while objects.Migration.get_by_id(
                self.context, migration.id).status != 'completed':
            self.assertLess(time.monotonic(), deadline,
                            'migration %s did not complete' % migration.uuid)
            time.sleep(0.05)
        return self.wait_for_state(instance.uuid, vm_states.ACTIVE).host

    def test_disabled_compute_is_avoided_until_enabled(self):
        instance = self.boot(self.flavor)
        others = sorted(h for h in self.computes if h != instance.host)
        self.set_status(others[0], 'disabled', 'drain for DIMM swap')
        listed = self.call('GET', '/os-services?binary=nova-compute')
        by_host = {s['host']: s for s in listed['services']}
        self.assertEqual(('disabled', 'drain for DIMM swap'),
                         (by_host[others[0]]['status'],
                          by_host[others[0]]['disabled_reason']))

        self.assertEqual(others[1], self.scheduled_live_migration(instance))

        # Re-enabled, and the other one disabled: the way back avoids the
        # first host too, so the next move must pick others[0].
        self.set_status(others[0], 'enabled')
        self.set_status(instance.host, 'disabled')
        instance = objects.Instance.get_by_uuid(self.context, instance.uuid)
        self.assertEqual(others[0], self.scheduled_live_migration(instance))

    def test_force_down_marks_the_service_down_at_once(self):
        uuid = self.service('compute-b').uuid
        shown = self.call('PUT', '/os-services/%s' % uuid,
                          body={'forced_down': True})['service']
        self.assertEqual(('down', True),
                         (shown['state'], shown['forced_down']))
        # Its heartbeats go on, and do not make it up again.
        self.computes['compute-b'].report_state()
        self.assertFalse(servicegroup.service_is_up(self.service('compute-b')))
        row = self.call('GET', '/os-hypervisors/detail')['hypervisors']
        self.assertEqual('down', {h['hypervisor_hostname']: h['state']
                                  for h in row}['compute-b'])
        self.call('PUT', '/os-services/force-down', '2.11',
                  {'host': 'compute-b', 'binary': 'nova-compute',
                   'forced_down': False})
        self.assertTrue(servicegroup.service_is_up(self.service('compute-b')))

    def test_delete_refused_with_instances_then_removes_everything(self):
        instance = self.boot(self.flavor)
        host = instance.host
        service = self.service(host)
        node = self.node(host)
        self.assertIsNotNone(self.reportclient.get_provider(self.context,
                                                            node.uuid))
        self.call('DELETE', '/os-services/%s' % service.uuid, status=409)
        self.assertEqual(service.id, self.service(host).id)

        self.api.delete(self.context, instance)
        self.wait_for_deleted(instance.uuid)
        self.stop_compute(host)
        self.call('DELETE', '/os-services/%s' % service.uuid, status=204)
        self.assertRaises(exception.ComputeHostNotFound,
                          objects.Service.get_by_compute_host, self.context,
                          host)
        self.assertEqual([], list(objects.ComputeNodeList.get_all_by_host(
            self.context, host)))
        self.assertIsNone(self.reportclient.get_provider(self.context,
                                                         node.uuid))
        self.assertNotIn(host, [h['hypervisor_hostname'] for h in self.call(
            'GET', '/os-hypervisors')['hypervisors']])
        # Nothing of the host is left for the audit to point at.
        self.assertEqual([], list(objects.VPMEMNamespaceList.get_by_filters(
            self.context, {'host': host})))
        findings, _done = vpmem_audit.audit(self.context, self.reportclient)
        self.assertEqual([], [f for f in findings if f.problem])

    def test_hypervisor_host_ip_and_uptime(self):
        node = self.node('compute-a')
        shown = self.call('GET', '/os-hypervisors/%s' % node.uuid,
                          '2.88')['hypervisor']
        self.assertEqual('192.0.2.44', shown['host_ip'])
        # Asked of compute-a's service over RPC.
        self.assertIn('load average', shown['uptime'])
        uptime = self.call('GET', '/os-hypervisors/%s/uptime' % node.id,
                           '2.1')['hypervisor']
        self.assertIn('load average', uptime['uptime'])

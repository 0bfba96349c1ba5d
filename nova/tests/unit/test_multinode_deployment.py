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

"""Tests of the multinode deployment without root: the configuration it
renders, the argv of each service, and its PID bookkeeping with real
child processes (``sleep``) instead of services; the network, libvirt
and the servers are mocked."""

import configparser
import io
import json
import os
import signal
import subprocess
import sys
from unittest import mock

import fixtures

from nova import test
from nova.tests.multinode import deployment
from nova.tests.multinode import libvirt_hosts
from nova.tests.multinode import network
from nova.tests.multinode import services
from nova.virt.libvirt import local_hosts


def _read_ini(path):
    parser = configparser.ConfigParser(interpolation=None)
    with open(path) as f:
        parser.read_file(f)
    return parser


class RenderIniTest(test.NoDBTestCase):

    def test_order_types_and_left_out_values(self):
        text = services.render_ini({
            'DEFAULT': {'host': 'compute-1', 'debug': False, 'unset': None},
            'empty': {'unset': None},
            'libvirt': {'pmem_namespaces': ['SMALL:ns0|ns1', 'BIG:ns2'],
                        'pmem_file_size_mb': 16}})
        self.assertEqual(
            '[DEFAULT]\nhost = compute-1\ndebug = False\n\n[libvirt]\n'
            'pmem_namespaces = SMALL:ns0|ns1,BIG:ns2\n'
            'pmem_file_size_mb = 16\n', text)

    def test_overrides_and_merge(self):
        sections = services.overrides_to_sections({
            (None, 'host'): 'a', ('libvirt', 'virt_type'): 'qemu'})
        self.assertEqual({'DEFAULT': {'host': 'a'},
                          'libvirt': {'virt_type': 'qemu'}}, sections)
        merged = services.merge(sections, {'libvirt': {'virt_type': 'kvm',
                                                       'x': 1}})
        self.assertEqual({'virt_type': 'kvm', 'x': 1}, merged['libvirt'])
        # The inputs are left as they were.
        self.assertEqual('qemu', sections['libvirt']['virt_type'])


class DeploymentConfigTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        self.deployment = deployment.Deployment(
            self.base, db='postgresql', port_offset=10, bin_dir='/venv/bin',
            out=io.StringIO())
        self.deployment.settings = {
            'transport_url': 'rabbit://nova:pw@10.77.0.1:5682/nova',
            'nova_db': 'postgresql+psycopg2://nova:pw@10.77.0.1:5442/nova',
            'placement_db': 'postgresql+psycopg2://placement:pw@10.77.0.1:'
                            '5442/placement'}

    def _hosts(self):
        return {index: libvirt_hosts.NamespaceHost(
            name='compute-%d' % index,
            base_dir=os.path.join(self.base, 'hosts', 'compute-%d' % index),
            host_uuid='uuid-%d' % index, migration_ports=(49152, 49167),
            link=network.ComputeLink(index)) for index in (1, 2)}

    def test_compute_config(self):
        self.deployment.write_configs(self._hosts())
        conf = _read_ini(os.path.join(self.base, 'etc',
                                      'nova-compute-2.conf'))
        self.assertEqual('compute-2', conf['DEFAULT']['host'])
        self.assertEqual('10.77.0.12', conf['DEFAULT']['my_ip'])
        self.assertEqual(os.path.join(self.base, 'state', 'compute-2'),
                         conf['DEFAULT']['state_path'])
        self.assertEqual('rabbit://nova:pw@10.77.0.1:5682/nova',
                         conf['DEFAULT']['transport_url'])
        self.assertEqual(self.deployment.settings['nova_db'],
                         conf['database']['connection'])
        self.assertEqual('http://10.77.0.1:8788',
                         conf['placement']['endpoint'])
        libvirt = conf['libvirt']
        self.assertEqual('qemu+tcp://10.77.0.12:16509/session',
                         libvirt['connection_uri'])
        self.assertEqual('10.77.0.12', libvirt['live_migration_inbound_addr'])
        self.assertEqual('False', libvirt['live_migration_tunnelled'])
        self.assertEqual('SMALL:ns0|ns1', libvirt['pmem_namespaces'])
        self.assertEqual('file', libvirt['pmem_backend'])
        self.assertEqual('compute-2', libvirt['hypervisor_hostname'])
        self.assertEqual('10.77.0.12',
                         conf['compute']['migration_data_address'])
        # Passwords are in it.
        self.assertEqual(0o600, os.stat(os.path.join(
            self.base, 'etc', 'nova-compute-2.conf')).st_mode & 0o777)

    def test_controller_configs(self):
        self.deployment.write_configs(self._hosts())
        api = _read_ini(os.path.join(self.base, 'etc', 'nova-api.conf'))
        self.assertEqual('noauth2', api['api']['auth_strategy'])
        self.assertEqual(os.path.join(self.base, 'images.json'),
                         api['api']['images_file'])
        self.assertEqual('10.77.0.1', api['DEFAULT']['my_ip'])
        placement = _read_ini(os.path.join(self.base, 'etc', 'placement',
                                           'placement.conf'))
        self.assertEqual(self.deployment.settings['placement_db'],
                         placement['placement_database']['connection'])
        self.assertEqual('noauth2', placement['api']['auth_strategy'])

    def test_specs(self):
        specs = self.deployment.specs()
        self.assertEqual({'placement', 'nova-api', 'nova-conductor',
                          'nova-compute-1', 'nova-compute-2'}, set(specs))
        argv, env = specs['nova-compute-1']
        self.assertEqual(['ip', 'netns', 'exec', 'nmn-c1',
                          '/venv/bin/nova-compute', '--config-file',
                          os.path.join(self.base, 'etc',
                                       'nova-compute-1.conf')], argv)
        argv, env = specs['nova-api']
        self.assertEqual('/venv/bin/gunicorn', argv[0])
        self.assertEqual('nova.wsgi.osapi_compute:application', argv[-1])
        binds = [argv[i + 1] for i, arg in enumerate(argv)
                 if arg == '--bind']
        self.assertEqual(['127.0.0.1:8784', '10.77.0.1:8784'], binds)
        self.assertNotIn('0.0.0.0', ' '.join(argv))
        self.assertEqual({'OS_NOVA_CONFIG_FILES': os.path.join(
            self.base, 'etc', 'nova-api.conf')}, env)
        self.assertEqual(os.path.join(self.base, 'etc', 'placement'),
                         specs['placement'][1]['OS_PLACEMENT_CONFIG_DIR'])

    def test_env(self):
        self.assertEqual({'OS_AUTH_TYPE': 'none',
                          'OS_ENDPOINT': 'http://10.77.0.1:8784/v2.1',
                          'OS_IDENTITY_API_VERSION': '3',
                          'OS_COMPUTE_API_VERSION': '2.latest'},
                         self.deployment.env())

    def test_load_takes_the_saved_settings(self):
        self.deployment.settings.update(db='postgresql', port_offset=10,
                                        computes=2)
        self.deployment._save_settings()
        loaded = deployment.Deployment.load(self.base, out=io.StringIO())
        self.assertEqual(('postgresql', 10), (loaded.db, loaded.port_offset))
        self.assertEqual(5442, loaded.port('postgresql'))

    def test_rpc_ready(self):
        rabbit = mock.Mock()
        rabbit.ctl.return_value = ('conductor\t1\ncompute.compute-1\t1\n'
                                   'compute.compute-2\t0\n')
        self.useFixture(fixtures.MockPatchObject(
            self.deployment, 'servers', return_value=(rabbit, None)))
        self.assertFalse(self.deployment._rpc_ready())
        rabbit.ctl.return_value = rabbit.ctl.return_value.replace(
            'compute-2\t0', 'compute-2\t1')
        self.assertTrue(self.deployment._rpc_ready())


class PidBookTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        self.book = services.PidBook(os.path.join(self.base, 'pids.json'))

    def _child(self, code='import time; time.sleep(60)'):
        process = subprocess.Popen([sys.executable, '-c', code],
                                   stdout=subprocess.PIPE)
        self.addCleanup(process.stdout.close)
        self.addCleanup(process.wait)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def test_record_survives_a_new_reader(self):
        process = self._child()
        self.book.record('nova-compute-1', process.pid, ['x'], 'nmn-c1')
        again = services.PidBook(self.book.path)
        self.assertEqual(process.pid, again.running('nova-compute-1'))
        self.assertEqual('nmn-c1', again.get('nova-compute-1')['netns'])
        again.forget('nova-compute-1')
        self.assertEqual({}, self.book.load())

    def test_a_reused_pid_is_not_the_recorded_process(self):
        process = self._child()
        entry = self.book.record('placement', process.pid)
        entry['started'] -= 1
        self.assertFalse(services.is_same(entry))
        self.assertFalse(services.signal_entry(entry, signal.SIGKILL))
        self.assertIsNone(process.poll())

    def test_stop_entries_term_then_kill(self):
        polite = self._child()
        stubborn = self._child(
            'import signal, time; signal.signal(signal.SIGTERM, '
            'signal.SIG_IGN); print(flush=True); time.sleep(60)')
        # Its line: it ignores SIGTERM from here on.
        stubborn.stdout.readline()
        stubborn_entry = self.book.record('b', stubborn.pid)
        gone = self._child('pass')
        gone.wait()
        entries = {'a': self.book.record('a', polite.pid),
                   'b': stubborn_entry,
                   'c': {'pid': gone.pid, 'started': 1}}
        ran = services.stop_entries(entries, timeout=1, reaps={
            'a': polite, 'b': stubborn})
        self.assertEqual({'a': True, 'b': True, 'c': False}, ran)
        self.assertEqual(-signal.SIGTERM, polite.wait())
        self.assertEqual(-signal.SIGKILL, stubborn.wait())


class DeploymentProcessTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        self.out = io.StringIO()
        self.deployment = deployment.Deployment(self.base, out=self.out)
        self.calls = []
        for target, name in ((network, 'teardown'), (network, 'leftovers'),
                             (deployment.infra, 'stop_all'),
                             (deployment.infra, 'marked_pids')):
            self.useFixture(fixtures.MockPatchObject(
                target, name, side_effect=self._call(name)))
        self.useFixture(fixtures.MockPatchObject(
            self.deployment, '_stop_host', side_effect=lambda entry: (
                self.calls.append(('stop_host', entry['index'])),
                (None, 'stopped'))[1]))

    def _call(self, name):
        def call(*args):
            self.calls.append((name,))
            return {'leftovers': [], 'marked_pids': []}.get(name, {})
        return call

    def _sleeper(self):
        process = subprocess.Popen(['sleep', '60'])
        self.addCleanup(process.wait)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def test_down_stops_by_pid_then_hosts_network_servers(self):
        api = self._sleeper()
        self.deployment.pids.record('nova-api', api.pid, ['sleep'])
        self.deployment.pids.record('nova-compute-1', 999999999, ['x'])
        self.deployment.pids.record('libvirtd-compute-1', 1, index=1)
        self.deployment.down()
        self.assertEqual(-signal.SIGTERM, api.wait())
        self.assertEqual([('marked_pids',), ('stop_host', 1), ('teardown',),
                          ('stop_all',), ('leftovers',)], self.calls)
        self.assertEqual({}, self.deployment.pids.load())
        self.assertIn('nova-compute-1 999999999 (was gone)',
                      self.out.getvalue())
        # Again: nothing left to do, no error.
        self.deployment.down()

    def test_down_reports_what_is_left(self):
        network.leftovers.side_effect = lambda: ['nmn-c1']
        self.assertRaises(deployment.DeploymentError, self.deployment.down)

    def test_down_after_a_crash_stops_unrecorded_strays(self):
        stray = self._sleeper()
        deployment.infra.marked_pids.side_effect = lambda marker: (
            [stray.pid] if marker == self.deployment.marker else [])
        self.deployment.down()
        self.assertEqual(-signal.SIGTERM, stray.wait())

    def test_kill_and_restart(self):
        victim = self._sleeper()
        self.deployment.pids.record('nova-compute-1', victim.pid)
        self.useFixture(fixtures.MockPatchObject(
            self.deployment, 'servers', return_value=()))
        self.assertEqual(victim.pid,
                         self.deployment.kill('nova-compute-1'))
        self.assertEqual(-signal.SIGKILL, victim.wait())
        self.assertRaises(deployment.DeploymentError, self.deployment.kill,
                          'nova-compute-1')
        self.assertRaises(deployment.DeploymentError,
                          self.deployment.restart, 'nova-nothing')
        # A restart starts the recorded service's argv again.
        self.useFixture(fixtures.MockPatchObject(
            self.deployment, 'specs', return_value={
                'nova-compute-1': (['sleep', '60'], {})}))
        pid = self.deployment.restart('nova-compute-1', wait=False)
        entry = self.deployment.pids.get('nova-compute-1')
        self.assertEqual(pid, entry['pid'])
        self.assertTrue(services.is_same(entry))
        self.deployment._popens['nova-compute-1'].kill()
        self.deployment._popens['nova-compute-1'].wait()

    def test_up_refuses_a_recorded_deployment(self):
        for module in (network, local_hosts):
            self.useFixture(fixtures.MockPatchObject(
                module, 'missing_requirements', return_value=[]))
        self.deployment.pids.record('placement', os.getpid())
        error = self.assertRaises(deployment.DeploymentError,
                                  self.deployment.up)
        self.assertIn('holds a deployment', str(error))
        self.assertEqual(['placement'], list(self.deployment.pids.load()))

    def test_pids_json_is_json(self):
        self.deployment.pids.record('x', os.getpid(), ['a'], 'nmn-c2',
                                    index=2)
        with open(os.path.join(self.base, 'pids.json')) as f:
            entry = json.load(f)['x']
        self.assertEqual({'pid', 'started', 'argv', 'netns', 'index'},
                         set(entry))

    def test_set_compute_options_rewrites_and_restarts(self):
        etc = os.path.join(self.base, 'etc')
        for index in (1, 2):
            services.write_ini(os.path.join(etc, 'nova-compute-%d.conf' %
                                            index),
                               {'DEFAULT': {'host': 'compute-%d' % index},
                                'libvirt': {'connection_uri': 'qemu:///x',
                                            'live_migration_bandwidth': 0}})
        restarted = []
        self.useFixture(fixtures.MockPatchObject(
            self.deployment, 'restart',
            side_effect=lambda name, wait: restarted.append((name, wait))))
        ready = self.useFixture(fixtures.MockPatchObject(
            self.deployment, 'wait_ready')).mock
        self.deployment.set_compute_options({
            ('libvirt', 'live_migration_bandwidth'): 1,
            ('workarounds', 'x'): True})
        self.assertEqual([('nova-compute-1', False),
                          ('nova-compute-2', False)], restarted)
        ready.assert_called_once_with()
        with open(os.path.join(etc, 'nova-compute-2.conf')) as f:
            self.assertEqual(
                '[DEFAULT]\nhost = compute-2\n\n'
                '[libvirt]\nconnection_uri = qemu:///x\n'
                'live_migration_bandwidth = 1\n\n'
                '[workarounds]\nx = True\n', f.read())
        self.assertEqual(1, self.deployment.compute_options[
            ('libvirt', 'live_migration_bandwidth')])

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

"""Tests of local_hosts without starting libvirtd (the integration tier
starts real ones): requirements, host layout, and stopping by PID."""

import os
import subprocess
import sys
from unittest import mock

import fixtures

from nova import test
from nova.virt.libvirt import local_hosts


class RequirementsTestCase(test.NoDBTestCase):

    def test_everything_missing_is_named(self):
        with mock.patch('shutil.which', return_value=None), \
                mock.patch('os.access', return_value=False), \
                mock.patch.dict(sys.modules, {'libvirt': None}):
            missing = local_hosts.missing_requirements()
        text = ' '.join(missing)
        for what in ('libvirtd', 'qemu-system-x86_64', 'libvirt-python',
                     'as ', 'ld '):
            self.assertIn(what, text)

    def test_install_hint_is_a_command(self):
        self.assertTrue(local_hosts.INSTALL_HINT.startswith(
            'apt-get install'))
        for package in ('libvirt-daemon', 'libvirt-daemon-driver-qemu',
                        'libvirt-clients', 'qemu-system-x86', 'libvirt-dev',
                        'pkg-config'):
            self.assertIn(package, local_hosts.INSTALL_HINT)
        self.assertIn('pip install libvirt-python', local_hosts.INSTALL_HINT)


class LayoutTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        self.started = []
        self.useFixture(fixtures.MockPatchObject(
            local_hosts.LocalHost, 'start', autospec=True,
            side_effect=lambda host, caps_cache=None: self.started.append(
                (host, caps_cache)) or host))
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=1000))

    def test_each_host_has_its_own_uuid_socket_and_ports(self):
        hosts = local_hosts.start_hosts(self.base, ['a', 'b'])
        self.assertEqual(['a', 'b'], [h.name for h in hosts])
        self.assertEqual(2, len({h.host_uuid for h in hosts}))
        self.assertEqual([(49152, 49167), (49168, 49183)],
                         [h.migration_ports for h in hosts])
        self.assertEqual(2, len({h.uri for h in hosts}))
        self.assertEqual(
            'qemu+unix:///session?socket=%s/a/run/libvirt/libvirt-sock'
            % self.base, hosts[0].uri)
        # Not root: the daemons run as this user.
        self.assertIsNone(hosts[0].uid)
        # One capability cache for all.
        self.assertEqual(1, len({caps for _h, caps in self.started}))

    def test_deep_base_dir_gets_a_short_root_for_sockets(self):
        deep = os.path.join(self.base, 'a-checkout', '.aio', 'demo',
                            'libvirt-hosts', 'compute-a')
        host = local_hosts.LocalHost('compute-a', deep, 'uuid-a',
                                     (5000, 5015))
        self.assertNotEqual(deep, host.root)
        # Room for QEMU's monitor socket of a guest below the config dir.
        monitor = os.path.join(
            host.root, 'config', 'libvirt', 'qemu', 'lib',
            'domain-999-instance-3882f3d2-e1', 'monitor.sock')
        self.assertLess(len(monitor), 108)
        self.assertTrue(host.socket.startswith(host.root + os.sep))
        self.assertEqual(host.root, local_hosts.LocalHost(
            'compute-a', deep, 'other', (1, 2)).root)
        os.makedirs(deep)
        self.addCleanup(lambda: os.path.islink(host.root) and
                        os.unlink(host.root))
        host._link_root()
        host._link_root()  # again, e.g. when serve resumes
        self.assertEqual(deep, os.readlink(host.root))
        self.assertEqual(os.path.join(host.root, 'config'),
                         host._env()['XDG_CONFIG_HOME'])

    def test_short_base_dir_is_used_as_is(self):
        host = local_hosts.LocalHost('a', '/srv/h/a', 'uuid-a', (1, 2))
        self.assertEqual('/srv/h/a', host.root)

    def test_conf_overrides_point_a_compute_at_the_host(self):
        host = local_hosts.start_hosts(self.base, ['a'])[0]
        overrides = host.conf_overrides()
        self.assertEqual(host.uri, overrides['libvirt', 'connection_uri'])
        self.assertEqual('qemu', overrides['libvirt', 'virt_type'])
        self.assertEqual('file', overrides['libvirt', 'pmem_backend'])
        self.assertEqual(os.path.join(self.base, 'a', 'pmem'),
                         overrides['libvirt', 'pmem_file_dir'])
        self.assertEqual('a', overrides['libvirt', 'hypervisor_hostname'])
        self.assertEqual('127.0.0.1',
                         overrides['libvirt', 'live_migration_inbound_addr'])

    def test_started_hosts_are_stopped_when_one_fails(self):
        stopped = []
        self.useFixture(fixtures.MockPatchObject(
            local_hosts.LocalHost, 'stop', autospec=True,
            side_effect=lambda host: stopped.append(host.name)))

        def start(host, caps_cache=None):
            if host.name == 'b':
                raise RuntimeError('libvirtd of b exited')
            return host
        local_hosts.LocalHost.start.side_effect = start
        self.assertRaises(RuntimeError, local_hosts.start_hosts, self.base,
                          ['a', 'b'])
        self.assertEqual(['a', 'b'], stopped)

    def test_config_files(self):
        host = local_hosts.LocalHost('a', os.path.join(self.base, 'a'),
                                     'uuid-a', (5000, 5015))
        host._write_config()
        with open(os.path.join(host.base_dir, 'config', 'libvirt',
                               'libvirtd.conf')) as f:
            self.assertIn('host_uuid = "uuid-a"', f.read())
        with open(os.path.join(host.base_dir, 'config', 'libvirt',
                               'qemu.conf')) as f:
            qemu_conf = f.read()
        self.assertIn('migration_port_min = 5000', qemu_conf)
        self.assertIn('migration_port_max = 5015', qemu_conf)
        self.assertIn('stdio_handler = "file"', qemu_conf)


class CapabilityCacheTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.host = local_hosts.LocalHost(
            'a', os.path.join(self.tmp, 'a'), 'uuid-a', (1, 2))
        self.cache = os.path.join(self.tmp, 'cache')
        self.caps = os.path.join(self.host.base_dir, 'cache', 'libvirt',
                                 'qemu', 'cache', 'capabilities')

    def test_saved_then_seeded(self):
        os.makedirs(self.caps)
        with open(os.path.join(self.caps, 'qemu.xml'), 'w') as f:
            f.write('<qemuCaps/>')
        self.host._save_caps(self.cache)
        other = local_hosts.LocalHost(
            'b', os.path.join(self.tmp, 'b'), 'uuid-b', (3, 4))
        other._seed_caps(self.cache)
        self.assertTrue(os.path.exists(os.path.join(
            other.base_dir, 'cache', 'libvirt', 'qemu', 'cache',
            'capabilities', 'qemu.xml')))

    def test_a_cache_that_cannot_be_written_is_no_error(self):
        os.makedirs(self.caps)
        with open(os.path.join(self.caps, 'qemu.xml'), 'w') as f:
            f.write('<qemuCaps/>')
        with mock.patch('shutil.copytree', side_effect=PermissionError):
            self.host._save_caps(self.cache)
            self.host._seed_caps(self.tmp)


class StopTestCase(test.NoDBTestCase):
    """stop() ends its own daemon and only QEMU processes of its pid files."""

    def setUp(self):
        super().setUp()
        base = self.useFixture(fixtures.TempDir()).path
        self.host = local_hosts.LocalHost('a', base, 'uuid-a', (1, 2))
        self.useFixture(fixtures.MockPatchObject(self.host,
                                                 '_destroy_domains'))
        self.daemon = self._sleeper()
        self.host._process = self.daemon
        self.host.pid = self.daemon.pid
        self.pid_dir = os.path.join(base, 'run', 'libvirt', 'qemu', 'run')
        os.makedirs(self.pid_dir)

    def _sleeper(self):
        process = subprocess.Popen(['sleep', '60'])
        self.addCleanup(self._reap, process)
        return process

    @staticmethod
    def _reap(process):
        if process.poll() is None:
            process.kill()
        process.wait()

    def _pid_file(self, name, pid):
        with open(os.path.join(self.pid_dir, name), 'w') as f:
            f.write('%s\n' % pid)

    def test_stops_the_daemon_once(self):
        self.host.stop()
        self.assertIsNotNone(self.daemon.poll())
        self.host._destroy_domains.assert_called_once_with()
        self.host.stop()  # idempotent
        self.host._destroy_domains.assert_called_once_with()

    def test_kills_only_qemu_processes_from_its_pid_files(self):
        not_qemu = self._sleeper()
        qemu = self._sleeper()
        self._pid_file('instance-x.pid', not_qemu.pid)
        self._pid_file('instance-y.pid', qemu.pid)
        self._pid_file('zero.pid', 0)
        self._pid_file('init.pid', 1)
        self._pid_file('garbage.pid', 'x')
        self.assertEqual(sorted([not_qemu.pid, qemu.pid]),
                         sorted(self.host.qemu_pids()))
        with mock.patch.object(local_hosts, '_is_qemu',
                               side_effect=lambda pid: pid == qemu.pid):
            self.host.stop()
        self.assertIsNotNone(qemu.wait(5))
        self.assertIsNone(not_qemu.poll())


_REAPER_SCRIPT = '''
import os, subprocess, sys, time
from nova.virt.libvirt import local_hosts

def comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None

assert local_hosts.adopt_qemu_processes()
# What libvirtd does: the process that started QEMU is gone, QEMU lives on.
subprocess.check_call(['sh', '-c', '"$0" 0.3 & exit 0', sys.argv[1]])
deadline = time.monotonic() + 5
qemu = None
while qemu is None and time.monotonic() < deadline:
    qemu = next((p for p in local_hosts._children()
                 if comm(p) == 'qemu-system-tes'), None)
    time.sleep(0.01)
print('adopted' if qemu else 'not adopted')
while qemu and qemu in local_hosts._children():
    if time.monotonic() > deadline:
        print('not reaped')
        sys.exit(1)
    time.sleep(0.02)
print('reaped')
'''


class QemuReaperTestCase(test.NoDBTestCase):

    def test_orphaned_qemu_is_adopted_and_reaped(self):
        # A stand-in QEMU: the kernel names a process after the file it
        # runs, which is what the reaper looks at.
        fake = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'qemu-system-test')
        os.symlink('/bin/sleep', fake)
        out = subprocess.run([sys.executable, '-c', _REAPER_SCRIPT, fake],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(0, out.returncode, out.stderr)
        self.assertEqual(['adopted', 'reaped'], out.stdout.split())

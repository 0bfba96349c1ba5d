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

"""``nova-aio`` as a user runs it: the demo, and the served cloud.

Each test runs the command as a subprocess of this interpreter in a
temporary state directory, reads what it prints, and for ``serve`` drives
the cloud with the real ``openstack`` CLI, stops it with SIGINT and
starts it again on the same directory.
"""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

import fixtures
import testtools
from testtools import content

DEMO_CHECKS = (
    'migration completed',
    "destination vpmem == source's final contents",
    'guest writes during the migration all arrived',
    'source namespaces erased (read back as zeros)',
    'source namespaces free',
    'destination namespaces assigned to the server',
    'placement, tracker and DB agree on compute-a',
    'placement, tracker and DB agree on compute-b',
)
START_TIMEOUT = 90
STOP_TIMEOUT = 30


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _openstack_path():
    beside = os.path.join(os.path.dirname(sys.executable), 'openstack')
    return beside if os.path.exists(beside) else shutil.which('openstack')


def _aio(*args):
    return [sys.executable, '-m', 'nova.cmd.aio'] + list(args)


def _sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _sha256_of_zeros(size):
    return hashlib.sha256(bytes(size)).hexdigest()


class AIOTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.state_dir = os.path.join(self.tmp, 'state')
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith('OS_')}

    def attach_file(self, name, path):
        if os.path.exists(path):
            self.addDetail(name, content.content_from_file(
                path, buffer_now=True))


class TestDemo(AIOTestCase):

    def test_demo_migrates_and_verifies(self):
        self.addCleanup(self.attach_file, 'nova-aio.log',
                        os.path.join(self.state_dir, 'nova-aio.log'))
        result = subprocess.run(
            _aio('demo', '--state-dir', self.state_dir,
                 '--vpmem-size-mib', '4', '--vpmem-count', '2',
                 '--bandwidth-mib', '16', '--dirty-pages', '256'),
            capture_output=True, text=True, env=self.env, timeout=180)
        self.addDetail('output', content.text_content(
            result.stdout + result.stderr))
        self.assertEqual(0, result.returncode)
        lines = result.stdout.splitlines()
        for name in DEMO_CHECKS:
            self.assertIn('verified: %s' % name, lines)
        self.assertNotIn('FAILED', result.stdout)
        self.assertIn('nova-aio demo: every check verified', result.stdout)
        # The story: the server moved from compute-a to compute-b, with
        # the numbers of the migration in the report.
        self.assertIn('ACTIVE on compute-a', result.stdout)
        self.assertRegex(result.stdout, r'compute-a -> compute-b')
        self.assertRegex(result.stdout, r'iterations\s+│\s+[1-9]')
        self.assertRegex(result.stdout, r'downtime\s+│\s+\d+ ms')
        # The prediction before the copy, and against the actual time.
        self.assertIn('the guest dirties 1.0 MiB/s of its vpmem',
                      result.stdout)
        self.assertIn('prediction (pre-flight estimator): ', result.stdout)
        self.assertRegex(result.stdout, r'pre-flight prediction\s+│\s+'
                                        r'predicted [\d.]+ s, actual [\d.]+ s')
        # The log went to the state directory, not to the terminal.
        self.assertTrue(os.path.getsize(
            os.path.join(self.state_dir, 'nova-aio.log')))
        self.assertNotIn(' INFO ', result.stdout)


    def test_failed_migration_exits_1_naming_the_checks(self):
        # The source host fails the migration after 1 MiB, as libvirt
        # would on a broken connection: the server stays on compute-a.
        script = (
            'import sys\n'
            'from nova.aio import guests\n'
            'from nova.cmd import aio\n'
            'from nova.virt.libvirt import emulator\n'
            'prepare = guests.EmulatedGuest.prepare\n'
            'def failing(self, console, server_id, source, paths):\n'
            '    prepare(self, console, server_id, source, paths)\n'
            '    emulator.get_host(source).inject_migration_error(\n'
            '        after_bytes=1 << 20)\n'
            'guests.EmulatedGuest.prepare = failing\n'
            'sys.exit(aio.main(sys.argv[1:]))\n')
        result = subprocess.run(
            [sys.executable, '-c', script, 'demo', '--state-dir',
             self.state_dir, '--vpmem-size-mib', '4', '--bandwidth-mib',
             '16', '--dirty-pages', '256'],
            capture_output=True, text=True, env=self.env, timeout=180)
        self.addDetail('output', content.text_content(
            result.stdout + result.stderr))
        self.assertEqual(1, result.returncode)
        lines = result.stdout.splitlines()
        self.assertIn('FAILED: migration completed', lines)
        self.assertIn("FAILED: destination vpmem == source's final "
                      "contents", lines)
        self.assertIn('FAILED: guest writes during the migration all '
                      'arrived', lines)
        # The failed migration kept the source's data: not erased.
        self.assertIn('FAILED: source namespaces erased (read back as '
                      'zeros)', lines)
        # Both hosts still agree with placement after the rollback.
        self.assertIn('verified: placement, tracker and DB agree on '
                      'compute-a', lines)
        self.assertIn('verified: placement, tracker and DB agree on '
                      'compute-b', lines)
        self.assertTrue(lines[-1].startswith('nova-aio demo failed: '
                                             'migration completed;'))


class TestDemoGivesUp(AIOTestCase):
    """1 MiB/s against a guest writing 16 MiB/s cannot converge: the demo
    gives up after the product's budget, aborts through the API and
    leaves nothing behind."""

    # The compute host pauses the guest at its timeout rather than
    # aborting itself, so it is the demo that gives up; the copy at
    # 1 MiB/s still outlasts the short grace.
    SCRIPT = (
        'import sys\n'
        'from nova.aio import cloud\n'
        'from nova.aio import give_up\n'
        'from nova.cmd import aio\n'
        'give_up.GRACE = 3\n'
        'overrides = cloud.compute_overrides\n'
        'def pausing(options, host, hypervisor_overrides):\n'
        '    found = overrides(options, host, hypervisor_overrides)\n'
        "    found[('libvirt', 'live_migration_timeout_action')] = (\n"
        "        'force_complete')\n"
        '    return found\n'
        'cloud.compute_overrides = pausing\n'
        'sys.exit(aio.main(sys.argv[1:]))\n')

    def query(self, database, sql, *args):
        with contextlib.closing(sqlite3.connect(
                os.path.join(self.state_dir, database))) as db:
            return db.execute(sql, args).fetchall()

    def test_demo_gives_up_and_leaves_nothing_behind(self):
        self.addCleanup(self.attach_file, 'nova-aio.log',
                        os.path.join(self.state_dir, 'nova-aio.log'))
        result = subprocess.run(
            [sys.executable, '-c', self.SCRIPT, 'demo', '--state-dir',
             self.state_dir, '--vpmem-size-mib', '4', '--bandwidth-mib',
             '1', '--dirty-pages', '4096', '--completion-timeout', '2'],
            capture_output=True, text=True, env=self.env, timeout=240)
        self.addDetail('output', content.text_content(
            result.stdout + result.stderr))
        self.assertEqual(1, result.returncode)
        lines = result.stdout.splitlines()
        self.assertIn('FAILED: migration finished within the completion '
                      'budget', lines)
        for name in ('aborted migration is final',
                     'server ACTIVE on the source after the abort',
                     'allocations only on the source after the abort',
                     'destination namespaces free and erased'):
            self.assertIn('verified: %s' % name, lines)
        # 2 s per GiB of 64 MiB RAM + 8 MiB vpmem, plus the grace: the
        # demo, not the host, gave up, and said so before it started.
        self.assertIn('the compute host allows 0.1 s; the demo gives up '
                      'after 3.1 s', result.stdout)
        self.assertIn('giving up: ', result.stdout)
        self.assertIn('/migrations/', result.stdout)    # the DELETE
        self.assertIn('what to do: ', result.stdout)
        self.assertEqual('nova-aio demo failed: migration finished within '
                         'the completion budget', lines[-1])

        # What the cloud left, read from its files after the exit.
        self.assertEqual(
            [('cancelled',)], self.query(
                'nova.sqlite', "SELECT status FROM migrations WHERE "
                "migration_type = 'live-migration'"))
        self.assertEqual(
            [('compute-a', 'active', None)], self.query(
                'nova.sqlite', 'SELECT host, vm_state, task_state FROM '
                'instances WHERE deleted = 0'))
        holders = self.query(
            'placement.sqlite', 'SELECT DISTINCT rp.name FROM allocations '
            'a JOIN resource_providers rp ON a.resource_provider_id = '
            'rp.id')
        self.assertEqual([('compute-a',)], holders)
        dest = os.path.join(self.state_dir, 'pmem', 'compute-b')
        for name in sorted(os.listdir(dest)):
            path = os.path.join(dest, name)
            self.assertEqual(_sha256_of_zeros(os.path.getsize(path)),
                             _sha256(path), name)


class TestServe(AIOTestCase):

    def setUp(self):
        super().setUp()
        self.cli = _openstack_path()
        if self.cli is None:
            self.skipTest('python-openstackclient is not installed')
        self.port = _free_port()
        self.endpoint = 'http://127.0.0.1:%d/v2.1' % self.port
        self.runs = 0

    def start(self, *options):
        self.runs += 1
        out_path = os.path.join(self.tmp, 'serve-%d.out' % self.runs)
        out = open(out_path, 'w+')
        self.addCleanup(out.close)
        proc = subprocess.Popen(
            _aio('serve', '--state-dir', self.state_dir, '--port',
                 str(self.port), '--vpmem-size-mib', '4',
                 '--namespaces', '2', *options),
            stdout=out, stderr=subprocess.STDOUT, env=self.env)
        self.addCleanup(self.attach_file, 'serve-%d' % self.runs, out_path)
        self.addCleanup(self._reap, proc)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with open(out_path) as f:
                text = f.read()
            if 'nova-aio serving on %s' % self.endpoint in text:
                return proc, text
            self.assertIsNone(proc.poll(), 'serve exited:\n%s' % text)
            self.assertLess(time.monotonic(), deadline,
                            'serve did not start:\n%s' % text)
            time.sleep(0.2)

    def _reap(self, proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait(STOP_TIMEOUT)

    def interrupt(self, proc):
        proc.send_signal(signal.SIGINT)
        self.assertEqual(0, proc.wait(STOP_TIMEOUT))

    def openstack(self, *args, json_output=True):
        result = subprocess.run(
            [self.cli, '--os-auth-type', 'none', '--os-endpoint',
             self.endpoint, '--os-identity-api-version', '3'] +
            list(args) + (['-f', 'json'] if json_output else []),
            capture_output=True, text=True, env=self.env, timeout=120)
        self.assertEqual(0, result.returncode,
                         'openstack %s:\n%s' % (' '.join(args),
                                                result.stderr))
        return json.loads(result.stdout) if json_output else None

    def namespaces(self):
        """sha256 of every namespace file of both hosts."""
        root = os.path.join(self.state_dir, 'pmem')
        return {'%s/%s' % (host, name): _sha256(os.path.join(root, host,
                                                             name))
                for host in sorted(os.listdir(root))
                for name in sorted(os.listdir(os.path.join(root, host)))}

    def guest_paths(self, host, server_id):
        """The backing files of the server's domain on an emulated host."""
        record = os.path.join(self.state_dir, 'hypervisor', host,
                              '%s.json' % server_id)
        with open(record) as f:
            xml = json.load(f)['live_xml']
        return [e.text for e in ET.fromstring(xml).iter('path')]

    def test_serve_takes_the_demos_migration_options(self):
        proc, text = self.start('--bandwidth-mib', '8', '--dirty-pages',
                                '256', '--completion-timeout', '600')
        self.assertIn('every guest writes 256 pages/s into its vpmem', text)
        server = self.openstack('server', 'create', '--flavor', 'aio-pmem',
                                '--image', 'cirros', '--nic', 'none',
                                '--wait', 'vm1')
        host = self.openstack('server', 'show',
                              'vm1')['OS-EXT-SRV-ATTR:host']
        # The guest got its writer: its namespace keeps changing.
        paths = self.guest_paths(host, server['id'])
        seen = {_sha256(paths[0])}
        deadline = time.monotonic() + 20
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
            seen.add(_sha256(paths[0]))
        self.assertEqual(3, len(seen), 'the guest wrote nothing')
        # The writer follows the guest through a live migration.
        self.openstack('server', 'migrate', '--live-migration', '--wait',
                       'vm1', json_output=False)
        moved = self.openstack('server', 'show', 'vm1')
        self.assertNotEqual(host, moved['OS-EXT-SRV-ATTR:host'])
        paths = self.guest_paths(moved['OS-EXT-SRV-ATTR:host'],
                                 server['id'])
        before = _sha256(paths[0])
        deadline = time.monotonic() + 20
        while _sha256(paths[0]) == before:
            self.assertLess(time.monotonic(), deadline,
                            'the guest stopped writing after the move')
            time.sleep(0.5)
        self.interrupt(proc)
        log = os.path.join(self.state_dir, 'nova-aio.log')
        self.attach_file('nova-aio.log', log)

    def test_serve_openstack_cli_sigint_and_resume(self):
        proc, text = self.start()
        self.assertIn('--os-endpoint %s' % self.endpoint, text)
        self.assertIn('OS_ENDPOINT=%s' % self.endpoint, text)

        server = self.openstack('server', 'create', '--flavor', 'aio-pmem',
                                '--image', 'cirros', '--nic', 'none',
                                '--wait', 'vm1')
        self.assertEqual('ACTIVE', server['status'])
        self.openstack('server', 'migrate', '--live-migration', '--wait',
                       'vm1', json_output=False)
        shown = self.openstack('server', 'show', 'vm1')
        host = shown['OS-EXT-SRV-ATTR:host']
        self.assertIn(host, ('compute-a', 'compute-b'))
        migrations = self.openstack('server', 'migration', 'list')
        self.assertEqual([('completed', 'live-migration', server['id'])],
                         [(m['Status'], m['Type'], m['Server UUID'])
                          for m in migrations])

        # The guest writes into its persistent memory.
        paths = self.guest_paths(host, server['id'])
        self.assertEqual(1, len(paths))
        with open(paths[0], 'r+b') as f:
            f.write(b'written before the restart' * 1000)
        before = self.namespaces()

        self.interrupt(proc)
        with open(os.path.join(self.tmp, 'serve-1.out')) as f:
            self.assertIn('stopped cleanly', f.read())

        proc, text = self.start()
        self.assertIn('resuming state directory', text)
        self.assertRegex(text, r'vm1\s+│\s+%s\s+│\s+ACTIVE\s+│\s+%s' % (
            server['id'], host))
        listed = self.openstack('server', 'list')
        self.assertEqual([(server['id'], 'vm1', 'ACTIVE')],
                         [(s['ID'], s['Name'], s['Status'])
                          for s in listed])
        self.assertEqual(host, self.openstack(
            'server', 'show', 'vm1')['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(migrations,
                         self.openstack('server', 'migration', 'list'))
        self.assertEqual(paths, self.guest_paths(host, server['id']))
        self.assertEqual(before, self.namespaces())
        self.interrupt(proc)

    # -- kill -9 in the middle of a live migration ---------------------------

    def rest(self, path):
        """GET ``path`` of the compute API (noauth2: any token)."""
        request = urllib.request.Request(
            self.endpoint + path,
            headers={'X-Auth-Token': 'admin', 'X-Auth-Project-Id': 'admin',
                     'OpenStack-API-Version': 'compute 2.80'})
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())

    def newest_migration(self, server_id):
        return self.rest('/os-migrations?instance_uuid=%s' % server_id)[
            'migrations'][0]

    def progress(self, server_id, migration_id):
        """The byte counts of a migration in progress ({} once over)."""
        running = self.rest('/servers/%s/migrations' % server_id)[
            'migrations']
        return next((m for m in running if m['id'] == migration_id), {})

    def kill_during_migration(self, server_id, fraction):
        """Start a live migration; ``kill -9`` serve once it copied
        ``fraction`` of the guest's memory; start serve again."""
        before = self.rest('/os-migrations?instance_uuid=%s' % server_id)[
            'migrations']
        self.openstack('server', 'migrate', '--live-migration', 'vm1',
                       json_output=False)
        deadline = time.monotonic() + 60
        while True:
            migration = self.newest_migration(server_id)
            self.assertEqual(len(before) + 1, migration['id'], migration)
            self.assertIn(migration['status'],
                          ('accepted', 'queued', 'preparing', 'running'),
                          'the migration ended before the kill: %s'
                          % migration)
            progress = self.progress(server_id, migration['id'])
            if progress.get('memory_total_bytes'):
                done = (progress['memory_processed_bytes'] or 0) / progress[
                    'memory_total_bytes']
                if done >= fraction:
                    break
            self.assertLess(time.monotonic(), deadline,
                            'no progress: %s' % migration)
            time.sleep(0.05)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)
        self.proc, _text = self.start('--bandwidth-mib', '8')
        deadline = time.monotonic() + 60
        while True:
            ended = self.newest_migration(server_id)
            if ended['status'] in ('completed', 'failed', 'error',
                                   'cancelled'):
                return ended
            self.assertLess(time.monotonic(), deadline,
                            'migration not settled: %s' % ended)
            time.sleep(0.2)

    def test_kill_9_during_a_live_migration_and_restart(self):
        self.proc, _text = self.start('--bandwidth-mib', '8')
        server = self.openstack('server', 'create', '--flavor', 'aio-pmem',
                                '--image', 'cirros', '--nic', 'none',
                                '--wait', 'vm1')
        host = self.openstack('server', 'show', 'vm1')[
            'OS-EXT-SRV-ATTR:host']
        [path] = self.guest_paths(host, server['id'])
        with open(path, 'r+b') as f:
            f.write(b'tenant data before the kills' * 4000)
        digest = _sha256(path)
        zeros = _sha256_of_zeros(4 << 20)
        # Early, mid-copy, near the end. libvirt's job dies with the
        # process: unless it had just finished, the guest goes on on its
        # source and recovery rolls the move back; if it had, recovery
        # completes the move.
        for fraction in (0.05, 0.5, 0.8):
            source = host
            ended = self.kill_during_migration(server['id'], fraction)
            shown = self.openstack('server', 'show', 'vm1')
            host = shown['OS-EXT-SRV-ATTR:host']
            expected = {'failed': source, 'completed': ended['dest_compute']}
            self.assertIn(ended['status'], expected, ended)
            self.assertEqual(('ACTIVE', expected[ended['status']]),
                             (shown['status'], host))
            # The tenant's data is where the guest runs, nowhere else.
            [path] = self.guest_paths(host, server['id'])
            self.assertEqual(digest, _sha256(path))
            for name, sha in self.namespaces().items():
                if not path.endswith(name):
                    self.assertEqual(zeros, sha, name)
        # The server is usable: it moves, then it is deleted.
        self.openstack('server', 'migrate', '--live-migration', '--wait',
                       'vm1', json_output=False)
        moved = self.openstack('server', 'show', 'vm1')
        self.assertNotEqual(host, moved['OS-EXT-SRV-ATTR:host'])
        self.openstack('server', 'delete', '--wait', 'vm1',
                       json_output=False)
        self.assertEqual({zeros}, set(self.namespaces().values()))
        self.interrupt(self.proc)

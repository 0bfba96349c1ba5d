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

"""Base class of the multinode tier: one deployment per test class.

Each class brings up :class:`~nova.tests.multinode.deployment.Deployment`
(RabbitMQ, MariaDB or PostgreSQL, placement, nova-api, nova-conductor
and two computes, each with its libvirtd in its own network namespace)
and tears it down at the end, also when its start fails half way. What a
user does goes through the real ``openstack`` CLI only; the harness looks
at the guests through libvirt and the namespace files, at placement over
HTTP, and runs ``nova-manage vpmem audit``.

``MULTINODE_DB`` (``mariadb``, the default, or ``postgresql``) picks the
SQL server; ``MULTINODE_AUTH`` (``keystone``, the default: a real Keystone
in front, so the CLI and the checks use its tokens, or ``noauth2``) the
API's authentication; ``MULTINODE_TIER_DIR`` where each class keeps its state
(default ``.multinode-tier`` in the repository). A class's logs stay
there when one of its tests failed (always with ``MULTINODE_KEEP_LOGS``
set), and ``summary.log`` there says when each class was up and down and
what each test noted (where a guest ended, which status a move took).
Needs root; a missing requirement fails the class with what to install,
it is never skipped.
"""

import contextlib
import os
import subprocess
import time

import testtools

from nova.tests.multinode import cli_check
from nova.tests.multinode import deployment as nmn
from nova.virt.libvirt import devguest
from nova.virt.libvirt import local_hosts

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))
RESOURCE_CLASS = 'CUSTOM_PMEM_NAMESPACE_%s' % nmn.LABEL
FINAL = ('completed', 'failed', 'error', 'cancelled')
TIMEOUT = 120


def compute(index):
    return nmn.compute_name(index)


def _libvirt():
    import libvirt
    # Errors arrive as exceptions; libvirt need not print them as well.
    libvirt.registerErrorHandler(lambda context, error: None, None)
    return libvirt


class MultinodeTestCase(testtools.TestCase):

    # None: MULTINODE_DB, else mariadb.
    DB = None
    # None: MULTINODE_AUTH, else keystone.
    AUTH = None
    # {(group, option): value} on top of nmn.STAMP_GUEST_OPTIONS.
    COMPUTE_OPTIONS = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.failed = False
        cls.deployment = None
        if os.geteuid() != 0:
            raise RuntimeError('the multinode tier runs as root (network '
                               'namespaces, daemons as their users)')
        cls.db = cls.DB or os.environ.get('MULTINODE_DB', 'mariadb')
        auth = cls.AUTH or os.environ.get('MULTINODE_AUTH', 'keystone')
        root = os.environ.get('MULTINODE_TIER_DIR',
                              os.path.join(REPO, '.multinode-tier'))
        base_dir = os.path.join(root, '%s-%s' % (cls.__name__, cls.db))
        # A run killed before its tearDownClass left this behind.
        if os.path.exists(os.path.join(base_dir, 'pids.json')):
            nmn.Deployment.load(base_dir).down()
        nmn.Deployment(base_dir).purge()
        os.makedirs(os.path.join(base_dir, 'log'))
        # One line per class start/end and per test note, for them all.
        cls.summary = os.path.join(root, 'summary.log')
        cls.out = open(os.path.join(base_dir, 'log', 'steps.log'), 'a')
        cls.deployment = nmn.Deployment(
            base_dir, db=cls.db, out=cls.out, auth=auth,
            compute_options={**nmn.STAMP_GUEST_OPTIONS,
                             **cls.COMPUTE_OPTIONS})
        cls.cli = cli_check.Cli(cls.deployment)
        cls.began = time.monotonic()
        try:
            cls.deployment.up()
            cls.cli('flavor', 'create', '--ram', str(nmn.FLAVOR_RAM_MB),
                    '--vcpus', '1', '--disk', '0', '--property',
                    'hw:pmem=%s' % cli_check.PMEM, nmn.FLAVOR)
        except BaseException:
            # tearDownClass does not run after a failed setUpClass.
            cls.failed = True
            cls._down()
            raise
        cls._note('up')

    @classmethod
    def tearDownClass(cls):
        cls._down()
        super().tearDownClass()

    @classmethod
    def _note(cls, what):
        with open(cls.summary, 'a') as f:
            f.write('%s %s %s at %.1f s\n' % (cls.__name__, cls.db, what,
                                               time.monotonic() - cls.began))

    @classmethod
    def _down(cls):
        if cls.deployment is None:
            return
        try:
            cls.deployment.down()
        finally:
            cls._note('down (%s)' % ('failed' if cls.failed else 'passed'))
            cls.out.close()
            # A failure's logs stay for the reader; the data goes.
            cls.deployment.purge(keep_logs=cls.failed or bool(
                os.environ.get('MULTINODE_KEEP_LOGS')))
            cls.deployment = None

    def setUp(self):
        super().setUp()
        self.addOnException(self._mark_failed)

    def _mark_failed(self, exc_info):
        type(self).failed = True

    # -- the user's side: the openstack CLI -----------------------------------

    def boot(self, name, index, image=nmn.IMAGE_NAME):
        """``server create --wait`` of the stamp guest on compute
        ``index`` (the others disabled meanwhile); its uuid. Deleted at
        the end of the test."""
        others = [compute(i) for i in range(1, self.deployment.computes + 1)
                  if i != index]
        for host in others:
            self.cli('compute', 'service', 'set', '--disable', host,
                     'nova-compute')
        try:
            server = self.cli('server', 'create', '--flavor', nmn.FLAVOR,
                              '--image', image, '--nic', 'none', '--wait',
                              name, as_json=True)
        finally:
            for host in others:
                self.cli('compute', 'service', 'set', '--enable', host,
                         'nova-compute')
        self.addCleanup(self._delete, name)
        self.assertEqual(compute(index), self.server(name)[
            'OS-EXT-SRV-ATTR:host'])
        return server['id']

    def _delete(self, name):
        with contextlib.suppress(nmn.DeploymentError):
            self.cli('server', 'delete', '--wait', name)

    def server(self, name):
        return self.cli('server', 'show', name, as_json=True)

    def wait_server(self, name, status='ACTIVE', timeout=TIMEOUT):
        """Until ``name`` has ``status`` and no task; its last show."""
        deadline = time.monotonic() + timeout
        while True:
            server = self.server(name)
            if (server['status'] == status and
                    not server.get('OS-EXT-STS:task_state')):
                return server
            if server['status'] == 'ERROR' and status != 'ERROR':
                self.fail('server %s is ERROR: %s' % (name, server.get(
                    'fault')))
            if time.monotonic() > deadline:
                self.fail('server %s is not %s in %d s: %s %s' % (
                    name, status, timeout, server['status'],
                    server.get('OS-EXT-STS:task_state')))
            time.sleep(1)

    def live_migrate(self, name, dest=None, wait=True):
        argv = ['server', 'migrate', '--live-migration']
        if dest is not None:
            argv += ['--host', compute(dest)]
        self.cli(*(argv + (['--wait'] if wait else []) + [name]))

    def migrations(self, name):
        """``server migration list --server``, newest first."""
        rows = self.cli('server', 'migration', 'list', '--server', name,
                        as_json=True)
        return sorted(rows, key=lambda row: row['Id'], reverse=True)

    def action_events(self, name, action):
        """The events of the newest ``action`` of ``name``, by name
        (``server event list`` then ``server event show``)."""
        rows = self.cli('server', 'event', 'list', name, as_json=True)
        request = next(row['Request ID'] for row in rows
                       if row['Action'] == action)
        shown = self.cli('server', 'event', 'show', name, request,
                         as_json=True)
        return {event['event']: event for event in shown['events']}

    def wait_migration(self, name, statuses=FINAL, timeout=TIMEOUT):
        """Until the newest migration of ``name`` has one of
        ``statuses``; its row."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.migrations(name)
            if rows and rows[0]['Status'] in statuses:
                return rows[0]
            if time.monotonic() > deadline:
                self.fail('migration of %s not %s in %d s: %s' % (
                    name, '/'.join(statuses), timeout,
                    rows[0] if rows else 'none'))
            time.sleep(0.5)

    def migration_show(self, name, row):
        """``server migration show`` of a ``migration list`` row.

        By its UUID: python-openstackclient 10.5 passes a numeric id to
        openstacksdk with the server's in the migration's place (GET
        /servers/<migration id>/migrations/<server uuid>, a 404).
        """
        return self.cli('server', 'migration', 'show', name, row['UUID'],
                        as_json=True)

    def wait_copying(self, name, timeout=TIMEOUT):
        """Until the running live migration of ``name`` has moved data
        (``server migration show``); that show."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.migrations(name)
            if rows and rows[0]['Status'] == 'running':
                shown = self.migration_show(name, rows[0])
                if shown.get('Memory Processed Bytes'):
                    return shown
            if rows and rows[0]['Status'] in FINAL:
                self.fail('migration ended before it copied: %s' % rows[0])
            if time.monotonic() > deadline:
                self.fail('no copy under way in %d s: %s' % (
                    timeout, rows[0] if rows else 'no migration'))
            time.sleep(0.3)

    # -- the harness's side: libvirt, the files, placement ------------------

    def host(self, index):
        return self.deployment.host(index)

    def domain_state(self, index, uuid):
        """libvirt's state of the domain on compute ``index``, None if
        that host has none."""
        libvirt = _libvirt()
        conn = libvirt.open(self.host(index).uri)
        try:
            return conn.lookupByUUIDString(uuid).state()[0]
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise
        finally:
            conn.close()

    def running_on(self, uuid):
        """The computes whose libvirt runs the domain."""
        libvirt = _libvirt()
        return [i for i in range(1, self.deployment.computes + 1)
                if self.domain_state(i, uuid) == libvirt.VIR_DOMAIN_RUNNING]

    def guest_paths(self, index, uuid):
        _libvirt()
        return cli_check.guest_paths(self.deployment, index, uuid)

    def assert_runs_on(self, name, index):
        """ACTIVE on compute ``index`` for nova, running there and only
        there for libvirt, its namespaces that host's; the uuid."""
        server = self.wait_server(name)
        self.assertEqual(compute(index), server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([index], self.running_on(server['id']))
        namespace_dir = self.host(index).namespace_dir
        for path in self.guest_paths(index, server['id']):
            self.assertTrue(path.startswith(namespace_dir + os.sep),
                            '%s is not under %s' % (path, namespace_dir))
        return server['id']

    def verify_guest(self, name, index, pages=20):
        """Once the guest wrote ``pages`` pages in all, every page it
        wrote is intact on compute ``index`` (it halts between two pages
        meanwhile, then goes on); how many it wrote by then."""
        uuid = self.assert_runs_on(name, index)
        paths = self.guest_paths(index, uuid)
        cli_check._wait_for_pages(paths[0], pages)
        control = local_hosts.stop_guest_writes(paths[0])
        report = local_hosts.verify_pattern(paths)
        self.assertTrue(report.ok, 'vpmem of %s on %s: %s' % (
            name, compute(index), report))
        local_hosts.resume_guest_writes(paths[0])
        self.note('%s on %s: %s' % (name, compute(index), report))
        return control.written

    def written(self, index, uuid):
        """How many pages the guest on compute ``index`` wrote so far."""
        return devguest.read_control(self.guest_paths(index, uuid)[0]).written

    def note(self, line):
        """A line in the class's steps.log and in summary.log."""
        line = '  [%s] %s\n' % (self.id().rsplit('.', 1)[-1], line)
        self.out.write(line)
        self.out.flush()
        with open(self.summary, 'a') as f:
            f.write(line)

    def audit(self):
        argv = [self.deployment.bin('nova-manage'), '--config-file',
                self.deployment.path('etc', 'nova-conductor.conf'),
                'vpmem', 'audit']
        return subprocess.run(argv, capture_output=True, text=True,
                              env=self.deployment._env({}),
                              stdin=subprocess.DEVNULL, timeout=120)

    def assert_converged(self, expected, timeout=TIMEOUT):
        """Until ``nova-manage vpmem audit`` is clean and placement counts
        what ``expected`` ({index: namespaces}) says each compute runs:
        the flavor's VCPU, MEMORY_MB and namespaces where it runs, nothing
        elsewhere (no leaked allocation). Background erases and recovery
        sweeps take a while."""
        want = {}
        for index in range(1, self.deployment.computes + 1):
            namespaces = expected.get(index, 0)
            want[compute(index)] = {
                'VCPU': 1 if namespaces else 0,
                'MEMORY_MB': nmn.FLAVOR_RAM_MB if namespaces else 0,
                RESOURCE_CLASS: namespaces}
        deadline = time.monotonic() + timeout
        while True:
            result = self.audit()
            placement = self.deployment.usages()
            usages = {host: {rc: used.get(rc, 0) for rc in want[host]}
                      for host, used in placement.items()}
            leftover = {host: {rc: n for rc, n in used.items()
                               if n and rc not in want[host]}
                        for host, used in placement.items()}
            if (result.returncode == 0 and usages == want and
                    not any(leftover.values())):
                return usages
            if time.monotonic() > deadline:
                self.fail('not converged in %d s: placement %s (want %s, '
                          'also used %s); audit exit %d:\n%s%s' % (
                              timeout, usages, want, leftover,
                              result.returncode, result.stdout,
                              result.stderr))
            time.sleep(2)

    def all_zeros(self, index, namespace):
        """Whether namespace file ``namespace`` of compute ``index``
        holds zeros only (erased)."""
        path = os.path.join(self.host(index).namespace_dir, namespace)
        with open(path, 'rb') as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    return True
                if chunk.count(0) != len(chunk):
                    return False

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

"""The real ``openstack`` CLI against the compute API.

The API is served on a free local port of this process with noauth2, in
front of the conductor, two emulated compute hosts and the real placement
(VPMEMTestBase). The CLI runs as a subprocess with ``--os-auth-type none``
(it then sends the token ``notused``, an administrator under noauth2).
"""

import json
import os
import shutil
import subprocess
import sys
import time

import fixtures

from nova.api import wsgi
from nova.compute import vm_states
from nova import objects
from nova import service
from nova.tests.functional import base

MiB = 1 << 20


def _openstack_path():
    beside = os.path.join(os.path.dirname(sys.executable), 'openstack')
    return beside if os.path.exists(beside) else shutil.which('openstack')


class CLITestBase(base.VPMEMTestBase):
    """The real ``openstack`` CLI against the in-process API."""

    def setUp(self):
        super().setUp()
        self.cli = _openstack_path()
        if self.cli is None:
            self.skipTest('python-openstackclient is not installed')
        self.flags(auth_strategy='noauth2', group='api')
        # The API keeps one compute API; this test's services are new.
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.handlers.servers._API', None))
        self.server = service.WSGIService(
            'nova-api', wsgi.APIApplication(auth_strategy='noauth2'),
            '127.0.0.1', 0)
        self.server.start()
        self.addCleanup(self.server.kill)
        self.endpoint = 'http://127.0.0.1:%s/v2.1' % self.server.port

    def openstack(self, *args, expect_fail=False):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        cmd = [self.cli, '--os-auth-type', 'none',
               '--os-endpoint', self.endpoint,
               '--os-identity-api-version', '3'] + list(args)
        result = subprocess.run(cmd, capture_output=True, text=True,
                                env=env, timeout=60)
        if expect_fail:
            self.assertNotEqual(0, result.returncode, result.stdout)
            return result.stderr
        self.assertEqual(0, result.returncode,
                         'openstack %s failed:\n%s' % (' '.join(args),
                                                      result.stderr))
        return result.stdout

    def openstack_json(self, *args):
        return json.loads(self.openstack(*(args + ('-f', 'json'))))


class OpenStackCLITest(CLITestBase):

    def test_flavor_server_and_live_migrations(self):
        flavor = self.openstack_json(
            'flavor', 'create', '--ram', '16', '--vcpus', '1', '--disk',
            '0', '--property', 'hw:pmem=SMALL', 'f1')
        self.assertEqual('f1', flavor['name'])
        self.assertIn('hw:pmem', str(flavor['properties']))

        server = self.openstack_json(
            'server', 'create', '--flavor', 'f1', '--image', 'cirros',
            '--nic', 'none', '--wait', 'vm1')
        self.assertEqual('ACTIVE', server['status'])
        uuid = server['id']
        source = objects.Instance.get_by_uuid(self.context, uuid).host

        dest = 'compute-b' if source == 'compute-a' else 'compute-a'
        self.openstack('server', 'migrate', '--live-migration', '--host',
                       dest, '--wait', 'vm1')
        instance = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(dest, instance.host)

        # Scheduled: back to the only other host.
        self.openstack('server', 'migrate', '--live-migration', '--wait',
                       'vm1')
        instance = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(source, instance.host)

        rows = self.openstack_json('server', 'migration', 'list',
                                   '--server', uuid)
        self.assertEqual(2, len(rows))
        self.assertEqual({'completed'}, {r['Status'] for r in rows})
        self.assertEqual({'live-migration'}, {r['Type'] for r in rows})

        # Refused by the conductor: the reason reaches the user.
        stderr = self.openstack('server', 'migrate', '--live-migration',
                                '--host', source, 'vm1', expect_fail=True)
        self.assertIn('400', stderr)
        self.assertIn('same host', stderr)
        self.assertIn(source, stderr)
        stderr = self.openstack('server', 'migrate', '--live-migration',
                                '--host', 'nowhere', 'vm1',
                                expect_fail=True)
        self.assertIn('400', stderr)
        self.assertIn('nowhere', stderr)

        services = self.openstack_json('compute', 'service', 'list')
        computes = {s['Host']: s for s in services
                    if s['Binary'] == 'nova-compute'}
        self.assertEqual({'compute-a', 'compute-b'}, set(computes))
        self.assertEqual({'up'}, {s['State'] for s in computes.values()})

        hypervisors = self.openstack_json('hypervisor', 'list')
        self.assertEqual({'compute-a', 'compute-b'},
                         {h['Hypervisor Hostname'] for h in hypervisors})
        shown = self.openstack_json('server', 'show', 'vm1')
        self.assertEqual(source, shown['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(['vm1'], [s['Name'] for s in self.openstack_json(
            'server', 'list')])

        self.openstack('server', 'delete', '--wait', 'vm1')
        self.wait_for_deleted(uuid)

    def _wait_for_migration(self, uuid, status):
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            migrations = objects.MigrationList.get_by_filters(
                self.context, {'instance_uuid': uuid})
            if migrations and migrations[0].status == status and (
                    status != 'running' or migrations[0].memory_processed):
                return migrations[0]
            self.assertLess(time.monotonic(), deadline,
                            'no migration of %s in %s' % (uuid, status))
            time.sleep(0.05)

    def _start_slow_live_migration(self, name, pmem):
        """Boot ``name``; start a live migration that never converges.

        4 MiB/s of guest writes against 2 MiB/s of bandwidth: only an
        abort or force-complete (a pause, never post-copy) ends it.
        Returns (instance, source, dest, the running Migration).
        """
        flavor = 'flavor-' + name
        self.create_flavor(name=flavor, pmem=pmem, memory_mb=16)
        created = self.openstack_json(
            'server', 'create', '--flavor', flavor, '--image', 'cirros',
            '--nic', 'none', '--wait', name)
        server = objects.Instance.get_by_uuid(self.context, created['id'])
        source = server.host
        dest = 'compute-b' if source == 'compute-a' else 'compute-a'
        base.emulator.get_host(source).configure(default_bandwidth=2 * MiB)
        base.emulator.get_host(source).set_workload(
            server.uuid, dirty_pages_per_second=1024)
        self.openstack('server', 'migrate', '--live-migration', '--host',
                       dest, name)
        running = self._wait_for_migration(server.uuid, 'running')
        return server, source, dest, running

    def test_show_and_abort_a_slow_migration(self):
        server, source, dest, running = self._start_slow_live_migration(
            'vm2', 'SMALL,SMALL')
        shown = self.openstack_json('server', 'migration', 'show', 'vm2',
                                    running.uuid)
        self.assertEqual(running.uuid, shown['UUID'])
        self.assertEqual('running', shown['Status'])
        self.assertEqual(dest, shown['Dest Compute'])

        self.openstack('server', 'migration', 'abort', 'vm2',
                       str(running.id))
        self._wait_for_migration(server.uuid, 'cancelled')
        instance = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(source, instance.host)

    def test_force_complete_and_filtered_migration_list(self):
        server, source, dest, running = self._start_slow_live_migration(
            'vm3', 'SMALL')
        self.openstack('server', 'migration', 'force', 'complete', 'vm3',
                       str(running.id))
        self._wait_for_migration(server.uuid, 'completed')
        instance = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(dest, instance.host)

        # os-migrations filters, as the CLI sends them.
        def listed(*filters):
            return {(r['Server UUID'], r['Status']) for r in
                    self.openstack_json('server', 'migration', 'list',
                                        *filters)}

        this_one = {(server.uuid, 'completed')}
        self.assertEqual(this_one, listed('--host', dest))
        self.assertEqual(this_one, listed('--host', source,
                                          '--status', 'completed'))
        self.assertEqual(set(), listed('--status', 'running'))
        self.assertEqual(this_one, listed('--type', 'live-migration'))
        self.assertEqual(set(), listed('--type', 'cold-migration'))

    def test_cold_migration_confirm_and_revert(self):
        self.create_flavor(name='f4', pmem='SMALL', memory_mb=16)
        created = self.openstack_json(
            'server', 'create', '--flavor', 'f4', '--image', 'cirros',
            '--nic', 'none', '--wait', 'vm4')
        server = objects.Instance.get_by_uuid(
            self.context, created['id'], expected_attrs=['resources'])
        source = server.host
        dest = 'compute-b' if source == 'compute-a' else 'compute-a'
        with open(server.resources[0].metadata.devpath, 'r+b') as f:
            f.write(b'cold data' * 1000)

        # To a named host; --wait returns at VERIFY_RESIZE.
        self.openstack('server', 'migrate', '--host', dest, '--wait', 'vm4')
        shown = self.openstack_json('server', 'show', 'vm4')
        self.assertEqual('VERIFY_RESIZE', shown['status'])
        self.assertEqual(dest, shown['OS-EXT-SRV-ATTR:host'])
        rows = self.openstack_json('server', 'migration', 'list',
                                   '--server', server.uuid)
        self.assertEqual([('migration', 'finished')],
                         [(r['Type'], r['Status']) for r in rows])
        self.openstack('server', 'migration', 'confirm', 'vm4')
        instance = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(dest, instance.host)
        with open(instance.resources[0].metadata.devpath, 'rb') as f:
            self.assertEqual(b'cold data' * 1000, f.read(9000))

        # Scheduled back, then reverted: it stays where it was.
        self.openstack('server', 'migrate', '--wait', 'vm4')
        self.assertEqual('VERIFY_RESIZE', self.openstack_json(
            'server', 'show', 'vm4')['status'])
        self.openstack('server', 'migration', 'revert', 'vm4')
        instance = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(dest, instance.host)
        rows = self.openstack_json('server', 'migration', 'list',
                                   '--server', server.uuid)
        self.assertEqual({'confirmed', 'reverted'},
                         {r['Status'] for r in rows})

        # A refusal reaches the CLI user with its reason.
        stderr = self.openstack('server', 'migrate', '--host', dest, 'vm4',
                                expect_fail=True)
        self.assertIn('400', stderr)
        self.assertIn('same host', stderr)

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

"""Services killed or restarted around a live migration.

What the documentation promises (doc/source/admin/troubleshooting.rst,
"When a service stops in the middle of a move"): a nova-compute that
starts again settles every move of its host that has not ended by where
the guest runs (completed if it runs on the destination, rolled back if
it still runs on the source, libvirt's job aborted first if nothing
watches it), and its namespaces end erased and free or quarantined,
never handed out. So after a ``kill -9`` and a restart the migration
must end (completed, failed or error), the guest run on exactly one host
with every page it wrote, and ``nova-manage vpmem audit`` be clean with
placement counting the namespaces of that one host only.
"""

from nova.tests.multinode import deployment as nmn
from nova.tests.multinode.tests import base

compute = base.compute
ENDED = ('completed', 'failed', 'error')
# Recovery runs when a compute starts and on a timer: give it time.
SETTLE_TIMEOUT = 240


class ComputeKilledTest(base.MultinodeTestCase):
    """``kill -9`` of a nova-compute while its guest moves."""

    # The paced guest dirties 0.5 MiB/s, the copy runs at 1 MiB/s: the
    # first pass over the pages it stamped lasts seconds, then the
    # migration converges on its own.
    COMPUTE_OPTIONS = {('libvirt', 'live_migration_bandwidth'): 1}
    IMAGE = nmn.PACED_IMAGE_NAME
    STAMPED = 1200

    def _boot(self, name):
        self.boot(name, 1, image=self.IMAGE)
        return self.verify_guest(name, 1, pages=self.STAMPED)

    def _copying(self, name):
        shown = self.wait_copying(name)
        self.note('copying: %s of %s bytes' % (
            shown['Memory Processed Bytes'], shown['Memory Total Bytes']))

    def _kill_and_restart(self, service):
        pid = self.deployment.kill(service)
        self.note('killed %s (pid %d)' % (service, pid))
        self.deployment.restart(service)

    def _settle(self, name, written):
        """The move ended, the guest runs on one host with its data,
        nothing leaked; the migration's status and where it runs."""
        row = self.wait_migration(name, ENDED, timeout=SETTLE_TIMEOUT)
        server = self.wait_server(name, timeout=SETTLE_TIMEOUT)
        index = int(server['OS-EXT-SRV-ATTR:host'].rsplit('-', 1)[1])
        self.note('migration %s, server ACTIVE on %s' % (
            row['Status'], compute(index)))
        # The source's data if it stayed there, the copy if it moved.
        self.verify_guest(name, index, pages=written + 20)
        self.assert_converged({index: 2}, timeout=SETTLE_TIMEOUT)
        if row['Status'] == 'completed':
            self.assertEqual(2, index)
        return row['Status'], index

    def test_destination_killed_mid_copy(self):
        name = 'nmn-dest-killed'
        written = self._boot(name)
        self.live_migrate(name, 2, wait=False)
        self._copying(name)
        self._kill_and_restart('nova-compute-2')
        self._settle(name, written)

    def test_source_killed_mid_copy(self):
        name = 'nmn-source-killed'
        written = self._boot(name)
        self.live_migrate(name, 2, wait=False)
        self._copying(name)
        self._kill_and_restart('nova-compute-1')
        self._settle(name, written)

    def test_source_killed_once_accepted(self):
        name = 'nmn-source-killed-early'
        written = self._boot(name)
        # The API answered 202: the conductor's checks are under way.
        self.live_migrate(name, 2, wait=False)
        self._kill_and_restart('nova-compute-1')
        self._settle(name, written)


class ServerRestartTest(base.MultinodeTestCase):
    """RabbitMQ or the SQL server restarted while nothing moves."""

    def _restart_then_migrate(self, name, service):
        self.boot(name, 1)
        written = self.verify_guest(name, 1)
        self.deployment.restart(service)
        # Every service reports up again and consumes its queue (what
        # restart waited for); the CLI sees them up.
        services = self.cli('compute', 'service', 'list', as_json=True)
        self.assertEqual({'up'}, {s['State'] for s in services}, services)
        self.live_migrate(name, 2)
        self.verify_guest(name, 2, pages=written + 20)
        self.assertEqual('completed', self.migrations(name)[0]['Status'])
        self.assert_converged({2: 2})

    def test_rabbitmq_restarted(self):
        self._restart_then_migrate('nmn-after-rabbitmq', 'rabbitmq')

    def test_sql_server_restarted(self):
        self._restart_then_migrate('nmn-after-sql', self.db)

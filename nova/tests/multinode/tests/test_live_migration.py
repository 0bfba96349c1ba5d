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

"""Live migration between the two computes, through the openstack CLI."""

from nova.tests.multinode import deployment as nmn
from nova.tests.multinode.tests import base

compute = base.compute
HOPS = 5


class LiveMigrationTest(base.MultinodeTestCase):

    def test_back_and_forth_while_the_guest_writes(self):
        name = 'nmn-hops'
        self.boot(name, 1)
        written = self.verify_guest(name, 1)
        where = 1
        for _hop in range(HOPS):
            dest = 3 - where
            # The guest writes throughout: it was resumed after the
            # last check, and must have gone on past it on arrival.
            self.live_migrate(name, dest)
            written = self.verify_guest(name, dest, pages=written + 20)
            where = dest

        rows = self.migrations(name)
        self.assertEqual([('live-migration', 'completed')] * HOPS,
                         [(r['Type'], r['Status']) for r in rows])
        last = rows[0]
        self.assertEqual((compute(1), compute(2)),
                         (last['Source Compute'], last['Dest Compute']))
        # As in Nova, show answers for a migration in progress only (the
        # abort test shows a running one): a finished one is not found.
        error = self.assertRaises(nmn.DeploymentError, self.migration_show,
                                  name, last)
        self.assertIn('not found', str(error))
        self.assert_converged({where: 2})

    def test_scheduler_picks_the_destination(self):
        name = 'nmn-scheduled'
        self.boot(name, 2)
        written = self.verify_guest(name, 2)
        # No --host: the only other compute with room is compute-1.
        self.live_migrate(name)
        self.verify_guest(name, 1, pages=written + 20)
        row = self.migrations(name)[0]
        self.assertEqual(('completed', compute(2), compute(1)), (
            row['Status'], row['Source Compute'], row['Dest Compute']))
        # [libvirt]live_migration_preflight = warn (the default): the
        # source records its estimate as an event of the user's action.
        events = self.action_events(name, 'live-migration')
        estimate = events['live_migration_preflight']
        self.assertEqual(('Success', compute(2)),
                         (estimate['result'], estimate['host']))
        self.assertTrue(estimate['details'].startswith(
            'Pre-flight estimate'), estimate['details'])
        self.assert_converged({1: 2})


class AbortTest(base.MultinodeTestCase):
    """Abort of a migration that cannot finish on its own."""

    # 1 MiB/s at most, the shortest downtime, and a guest that dirties
    # more than that: the copy goes on until the abort arrives.
    COMPUTE_OPTIONS = {('libvirt', 'live_migration_bandwidth'): 1,
                       ('libvirt', 'live_migration_downtime'): 100}

    def test_abort_keeps_the_guest_on_the_source(self):
        name = 'nmn-abort'
        uuid = self.boot(name, 1)
        # Some MiB of stamped pages: seconds of copying at 1 MiB/s.
        written = self.verify_guest(name, 1, pages=1500)
        self.live_migrate(name, 2, wait=False)
        shown = self.wait_copying(name)
        self.assertEqual(('running', compute(1), compute(2)), (
            shown['Status'], shown['Source Compute'], shown['Dest Compute']))
        self.assertLess(shown['Memory Processed Bytes'],
                        shown['Memory Total Bytes'])
        # The destination's QEMU receives the stream meanwhile.
        self.assertIsNotNone(self.domain_state(2, uuid))
        self.cli('server', 'migration', 'abort', name, str(shown['ID']))

        row = self.wait_migration(name)
        self.assertEqual('cancelled', row['Status'], row)
        self.verify_guest(name, 1, pages=written + 20)
        self.assertIsNone(self.domain_state(2, uuid))
        # The destination's namespaces are erased and free again.
        self.assert_converged({1: 2})
        for namespace in nmn.NAMESPACES:
            self.assertTrue(self.all_zeros(2, namespace),
                            '%s of %s holds data' % (namespace, compute(2)))

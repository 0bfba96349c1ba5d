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

"""Abort of a live migration while it copies: the server stays ACTIVE on
its source, the record says cancelled, placement holds nothing on the
destination.

The plugin cannot slow a migration down itself: the operator configures
the computes (a bandwidth below the abort guest's dirty rate) and says so
with ``[vpmem] abortable_migration = True``.
"""

from tempest import config
from tempest.lib.common.utils import test_utils
from tempest.lib import decorators

from nova_vpmem_tempest_plugin.api import base

CONF = config.CONF


class VpmemMigrationAbortTest(base.VpmemTest):

    # Abort exists from 2.24; a forced destination needs 2.30-2.67.
    min_microversion = base.FORCE_MIN
    max_microversion = base.FORCE_MAX

    @classmethod
    def skip_reason(cls):
        reason = super().skip_reason()
        if reason is None and not CONF.vpmem.abortable_migration:
            reason = ('the cloud is not said to keep a live migration '
                      'running long enough to abort it '
                      '([vpmem] abortable_migration = False)')
        return reason

    def _wait_copying(self, server_id):
        """The server's migration once it copies (running, with the
        hypervisor's first progress figures)."""
        seen = {}

        def copying():
            rows = self.in_progress(server_id)
            seen['rows'] = rows
            seen['running'] = [row for row in rows
                               if row['status'] == 'running' and
                               row['memory_total_bytes']]
            if not rows:
                # Over before it could be caught, or never began.
                seen['server'] = self.show(server_id)
                return seen['server']['status'] != 'MIGRATING'
            return bool(seen['running'])

        if not test_utils.call_until_true(copying,
                                          CONF.vpmem.migration_timeout,
                                          CONF.compute.build_interval):
            self.fail('the migration of %s did not run in %d s: %s' % (
                server_id, CONF.vpmem.migration_timeout, seen.get('rows')))
        if not seen['running']:
            self.fail('the migration of %s ended before it could be '
                      'aborted (server %s on %s): is the cloud slow '
                      'enough for [vpmem] abortable_migration = True?' % (
                          server_id, seen['server']['status'],
                          seen['server'].get('OS-EXT-SRV-ATTR:host')))
        return seen['running'][0]

    @decorators.attr(type='multinode')
    @decorators.idempotent_id('95ab5449-4fb9-417e-96fa-f87336c55d8f')
    def test_abort_keeps_server_on_source(self):
        server_id = self.boot(image_ref=CONF.vpmem.abort_image_ref)
        source = self.host_of(server_id)
        dest = self.other_host(source)
        known = {row['id'] for row in self.live_migrations(server_id)}
        before = self.vpmem_usages(self.hosts)

        self.live_migrate(server_id, host=dest, force=True)
        migration = self._wait_copying(server_id)
        self.assertEqual((source, dest), (migration['source_compute'],
                                          migration['dest_compute']))
        if CONF.vpmem.namespace_size_mb:
            # What the migration copies counts the namespaces too.
            expected = (CONF.vpmem.flavor_ram_mb +
                        len(CONF.vpmem.flavor_labels) *
                        CONF.vpmem.namespace_size_mb) * base.MiB
            self.assertGreaterEqual(migration['memory_total_bytes'],
                                    expected, migration)
        self.abort_migration(server_id, migration['id'])

        row = self.wait_new_migration(server_id, known)
        self.assertEqual(('cancelled', migration['id']),
                         (row['status'], row['id']), row)
        self.wait_idle(server_id)
        self.assertEqual(source, self.host_of(server_id))
        self.assertEqual([], self.in_progress(server_id))
        if before is not None:
            # The destination's claim is gone, the source's unchanged.
            self.wait_placement(server_id, source, before)

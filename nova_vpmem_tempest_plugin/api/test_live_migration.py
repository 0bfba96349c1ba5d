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

"""Live migration of a vpmem server, to a forced host and to the
scheduler's choice: ACTIVE on the other host, the record completed, and
placement's usages moved with it."""

from tempest.lib import decorators

from nova_vpmem_tempest_plugin.api import base


class VpmemLiveMigrationTest(base.VpmemTest):

    # The forced move needs force (2.30-2.67); both run at one version.
    min_microversion = base.FORCE_MIN
    max_microversion = base.FORCE_MAX

    def _migrate(self, force):
        server_id = self.boot()
        source = self.host_of(server_id)
        dest = self.other_host(source) if force else None
        known = {row['id'] for row in self.live_migrations(server_id)}
        before = self.vpmem_usages(self.hosts)

        self.live_migrate(server_id, host=dest, force=force)
        self.wait_idle(server_id)

        host = self.host_of(server_id)
        if force:
            self.assertEqual(dest, host)
        else:
            self.assertNotEqual(source, host)
            # The scheduler picked a host with room for the namespaces.
            self.assertIn(host, self.hosts)
        row = self.wait_new_migration(server_id, known)
        self.assertEqual(('completed', source, host), (
            row['status'], row['source_compute'], row['dest_compute']), row)
        self.assertEqual([], self.in_progress(server_id))
        if before is not None:
            self.wait_placement(server_id, host, base.moved_usages(
                before, source, host, self.resources))

    @decorators.attr(type='multinode')
    @decorators.idempotent_id('9b1be43e-c2eb-4a9d-90a4-3a76b4737401')
    def test_live_migrate_to_forced_host(self):
        self._migrate(force=True)

    @decorators.attr(type='multinode')
    @decorators.idempotent_id('9c831535-afc6-4e4a-a3d7-002468179b2a')
    def test_live_migrate_to_scheduled_host(self):
        self._migrate(force=False)

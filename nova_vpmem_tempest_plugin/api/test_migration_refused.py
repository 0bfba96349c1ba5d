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

"""A live migration to a host without enough free namespaces is refused
with 400, and nothing changes: the server's host and state, its migration
records, placement's allocations and usages.

The destination is filled first: the test boots servers of its flavor
and moves each one that lands elsewhere to it (forced), until one is
refused. Up to 2.33 the API answers once the conductor checked, so the
refusal is the request's own answer.
"""

from oslo_log import log as logging
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_vpmem_tempest_plugin.api import base

CONF = config.CONF
LOG = logging.getLogger(__name__)


class VpmemRefusedMigrationTest(base.VpmemTest):

    min_microversion = base.FORCE_MIN
    max_microversion = base.SYNC_MAX

    def _state(self, server_id, hosts):
        server = self.show(server_id)
        records = [(row['id'], row['status'])
                   for row in self.live_migrations(server_id)]
        allocations = (base.vpmem_allocations(
            self.placement.allocations(server_id), self.resources)
            if self.has_placement else None)
        return {'host': server['OS-EXT-SRV-ATTR:host'],
                'status': server['status'],
                'task_state': server.get('OS-EXT-STS:task_state'),
                'records': records, 'allocations': allocations,
                'usages': self.vpmem_usages(hosts)}

    def _settle(self, server_id, source, dest, before):
        """After a move that filled dest: ACTIVE there, the source's
        namespaces released (erased first)."""
        self.wait_idle(server_id)
        self.assertEqual(dest, self.host_of(server_id))
        if before is not None:
            self.wait_placement(server_id, dest, base.moved_usages(
                before, source, dest, self.resources))

    @decorators.attr(type='multinode')
    @decorators.idempotent_id('e07a7b07-761b-418b-9b81-b975ce791a7a')
    def test_migration_to_full_host_is_refused(self):
        dest = self.host_of(self.boot())
        for _attempt in range(CONF.vpmem.fill_limit):
            server_id = self.boot()
            source = self.host_of(server_id)
            if source == dest:
                continue
            hosts = sorted({source, dest})
            before = self._state(server_id, hosts)
            try:
                self.live_migrate(server_id, host=dest, force=True)
            except lib_exc.BadRequest as e:
                refusal = e
            else:
                # dest had room for one more: it has one less now.
                self._settle(server_id, source, dest, before['usages'])
                continue
            LOG.info('%s to %s refused: %s', server_id, dest, refusal)
            after = self._state(server_id, hosts)
            # A refused request may leave a record in 'error' (Nova does),
            # nothing else.
            old = {record[0] for record in before['records']}
            after['records'] = [record for record in after['records']
                                if record[0] in old or record[1] != 'error']
            self.assertEqual(before, after)
            self.assertEqual([], self.in_progress(server_id))
            return
        self.fail('%s still took servers after %d boots: raise [vpmem] '
                  'fill_limit' % (dest, CONF.vpmem.fill_limit))

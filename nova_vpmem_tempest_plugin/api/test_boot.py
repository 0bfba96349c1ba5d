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

"""A server with a ``hw:pmem`` flavor boots on a vpmem host."""

from tempest import config
from tempest.lib import decorators

from nova_vpmem_tempest_plugin.api import base

CONF = config.CONF


class VpmemBootTest(base.VpmemTest):

    vpmem_hosts_needed = 1
    needs_live_migration = False

    @decorators.idempotent_id('071ca908-d515-4593-8419-9857874bfa9a')
    def test_boot_with_pmem_flavor(self):
        specs = self.flavors_client.list_flavor_extra_specs(
            self.flavor['id'])['extra_specs']
        self.assertEqual(','.join(CONF.vpmem.flavor_labels),
                         specs[base.PMEM_EXTRA_SPEC])
        # Usages before the boot: the server adds its namespaces to one.
        before = self.vpmem_usages(self.hosts)
        server_id = self.boot()
        host = self.host_of(server_id)
        self.assertIn(host, self.hosts)
        if before is not None:
            after = {h: dict(used) for h, used in before.items()}
            for rc, count in self.resources.items():
                after[host][rc] += count
            self.wait_placement(server_id, host, after)

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

"""The ``[vpmem]`` group of tempest.conf: what the cloud under test offers.

The plugin cannot look at a host's namespaces through the compute API, so
the operator says which labels a test flavor asks for, what the guests
look like, and whether the cloud is set up so that a migration can be
caught and aborted while it copies.
"""

from oslo_config import cfg

GROUP = 'vpmem'

vpmem_group = cfg.OptGroup(
    name=GROUP, title='vpmem (virtual persistent memory) test options')

VpmemGroup = [
    cfg.ListOpt('flavor_labels', default=['SMALL', 'SMALL'],
                help='The namespace labels of the test flavor, one per '
                     'namespace: its hw:pmem extra spec. Every vpmem host '
                     'the tests use must offer them.'),
    cfg.IntOpt('flavor_ram_mb', default=32, min=1,
               help='RAM of the test flavor, in MiB.'),
    cfg.IntOpt('flavor_vcpus', default=1, min=1,
               help='vCPUs of the test flavor.'),
    cfg.IntOpt('namespace_size_mb', default=0, min=0,
               help='Expected size of one namespace, in MiB. When set, a '
                    'running migration must count the namespaces in its '
                    'memory_total_bytes; 0 skips that check.'),
    cfg.IntOpt('min_vpmem_hosts', default=0, min=0,
               help='How many vpmem hosts the cloud has (as [compute] '
                    'min_compute_nodes for compute hosts). 0: count them '
                    'through the APIs, the placement providers with room '
                    'for the test flavor if placement is reachable, else '
                    'the enabled nova-compute services that are up. The '
                    'migration tests skip with fewer than two.'),
    cfg.StrOpt('placement_endpoint',
               help='URL of the placement API, for clouds whose catalog '
                    'has no placement entry. Unset: the catalog\'s '
                    '(service type [placement] catalog_type); without '
                    'either, the placement checks are skipped.'),
    cfg.BoolOpt('abortable_migration', default=False,
                help='Whether a live migration of the abort test\'s guest '
                     'runs long enough to be aborted: the computes limit '
                     'the migration bandwidth below the guest\'s dirty '
                     'rate (e.g. [libvirt] live_migration_bandwidth). '
                     'False skips the abort test.'),
    cfg.StrOpt('abort_image_ref',
               help='Image of the abort test\'s guest, one that dirties '
                    'its memory faster than the migration bandwidth. '
                    'Unset: [compute] image_ref.'),
    cfg.IntOpt('migration_timeout', default=300, min=1,
               help='Seconds a live migration may take to end, on top of '
                    '[compute] build_timeout.'),
    cfg.IntOpt('usage_timeout', default=60, min=0,
               help='Seconds placement may take to count a move or a '
                    'deletion (namespaces given up are erased first).'),
    cfg.IntOpt('fill_limit', default=4, min=1,
               help='How many servers the refused-migration test may boot '
                    'to fill its destination host before it gives up.'),
]


def register_opts(conf):
    conf.register_group(vpmem_group)
    conf.register_opts(VpmemGroup, group=vpmem_group)


def list_opts():
    """(group name, options) pairs, for tempest's sample config."""
    return [(vpmem_group.name, VpmemGroup)]

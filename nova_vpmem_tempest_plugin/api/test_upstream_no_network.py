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

"""tempest's own compute tests, for clouds without Neutron.

Some of tempest's classes ask for a default network, so without Neutron
they skip ("Neutron is not available"), although their servers are
created without networks below microversion 2.37 (and with
``networks='none'`` from it) and the tests make no network call. These
subclasses change only that one attribute and run tempest's tests
unchanged, under tempest's idempotent ids.

The live-migration tests boot with ``[compute] flavor_ref``: a ``hw:pmem``
flavor there makes them vpmem tests.
"""

from tempest.api.compute.admin import test_live_migration as live
from tempest.api.compute.servers import test_list_servers_negative as lists


class LiveMigrationNoNetworkTest(live.LiveMigrationTest):
    """Up to microversion 2.24: ``block_migration`` as configured; to the
    other host and back."""

    create_default_network = False


class LiveAutoBlockMigrationNoNetworkTest(
        live.LiveAutoBlockMigrationV225Test):
    """From microversion 2.25: ``block_migration='auto'``."""

    create_default_network = False


class ListServersNegativeNoNetworkTest(lists.ListServersNegativeTestJSON):
    """Server list filters and paging that match nothing or are invalid."""

    create_default_network = False

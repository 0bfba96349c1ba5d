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
from tempest.api.compute.admin import test_servers as admin_servers
from tempest.api.compute.servers import test_delete_server as delete
from tempest.api.compute.servers import test_instance_actions as actions
from tempest.api.compute.servers import (
    test_instance_actions_negative as actions_negative)
from tempest.api.compute.servers import test_list_servers_negative as lists
from tempest.api.compute.servers import test_multiple_create as multiple
from tempest.api.compute.servers import test_servers as servers


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


class ServersAdminNoNetworkTest(admin_servers.ServersAdminTestJSON):
    """An administrator's server list filters and actions."""

    create_default_network = False


class DeleteServersNoNetworkTest(delete.DeleteServersTestJSON):
    """Deleting servers in their states."""

    create_default_network = False


class InstanceActionsNoNetworkTest(actions.InstanceActionsTestJSON):
    """The actions recorded for a server."""

    create_default_network = False


class InstanceActionsV221NoNetworkTest(actions.InstanceActionsV221TestJSON):
    """The actions of a deleted server, from 2.21."""

    create_default_network = False


class InstanceActionsNegativeNoNetworkTest(
        actions_negative.InstanceActionsNegativeTestJSON):
    """Actions of unknown servers and requests."""

    create_default_network = False


class MultipleCreateNoNetworkTest(multiple.MultipleCreateTestJSON):
    """min_count and max_count."""

    create_default_network = False


class ServersNoNetworkTest(servers.ServersTestJSON):
    """Server create, list and update."""

    create_default_network = False

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

"""ConductorManager.live_migrate_instance, called over fake:// RPC."""

from nova.conductor import rpcapi as conductor_rpcapi
from nova import exception
from nova import objects
from nova.objects import fields
from nova.tests.unit.conductor import base


class LiveMigrateInstanceTestCase(base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.conductor = self.start_service('nova-conductor',
                                            host='conductor',
                                            periodic_enable=False)
        # The compute hosts are stand-ins; the conductor talks to them.
        self.conductor.manager.compute_rpcapi = self.dests.rpc
        self.rpcapi = conductor_rpcapi.ConductorAPI()

    def test_started(self):
        migration = self.create_migration('compute-b')
        self.assertIsNone(self.rpcapi.live_migrate_instance(
            self.context, self.instance, migration, host='compute-b',
            force=True))
        self.assertEqual(fields.MigrationStatus.QUEUED,
                         objects.Migration.get_by_id(
                             self.context, migration.id).status)
        self.assertEqual({'compute-b': base.SOURCE_AMOUNTS},
                         self.allocations(self.instance.uuid))
        cast = self.dests.rpc.live_migration.call_args
        self.assertEqual('compute-b', cast[0][2])
        self.assertEqual(self.SOURCE, cast[1]['host'])

    def test_precheck_error_keeps_its_type_across_rpc(self):
        self.set_service('compute-b', version=2)
        migration = self.create_migration('compute-b')
        err = self.assertRaises(
            exception.MigrationPreCheckError,
            self.rpcapi.live_migrate_instance, self.context, self.instance,
            migration, host='compute-b', force=True)
        self.assertIn('compute host compute-b runs service version 2',
                      str(err))
        self.assert_rolled_back(migration)

    def test_no_valid_host_keeps_its_reason_across_rpc(self):
        self.fill_pmem('compute-b')
        self.fill_pmem('compute-c')
        migration = self.create_migration()
        err = self.assertRaises(
            exception.NoValidHost, self.rpcapi.live_migrate_instance,
            self.context, self.instance, migration)
        self.assertIn('compute-b: not enough free %s' % base.PMEM, str(err))
        self.assertIn('compute-c: not enough free %s' % base.PMEM, str(err))
        self.assert_rolled_back(migration)

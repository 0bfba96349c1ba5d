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

"""ConductorManager: live_migrate_instance over RPC, build_instances."""

from unittest import mock

from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.objects import fields
from nova.tests.unit.conductor import base


class LiveMigrateInstanceTestCase(base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_conductor()

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


class BuildInstancesTestCase(base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.conductor = self.start_service('nova-conductor',
                                            host='conductor',
                                            periodic_enable=False)
        self.manager = self.conductor.manager
        self.manager.compute_rpcapi = mock.Mock()
        self.building = objects.Instance(
            self.context, uuid='3e5e1d55-4c36-4a5e-9a43-1f2b1f8bd2a0',
            user_id=self.context.user_id,
            project_id=self.context.project_id, display_name='new',
            flavor=self.flavor, vm_state=vm_states.BUILDING,
            task_state=task_states.SCHEDULING)
        self.building.create()

    def stored_building(self):
        return objects.Instance.get_by_uuid(self.context,
                                            self.building.uuid)

    def test_placement_error_leaves_error_with_fault(self):
        # A placement 500 on the claim (seen with placement on PostgreSQL
        # through psycopg 3) must not leave the server in BUILD for ever.
        failure = exception.PlacementRequestFailed(
            status=500, method='PUT', url='/allocations/x', detail='boom')
        with mock.patch.object(self.manager.reportclient, 'put_allocations',
                               side_effect=failure):
            self.manager.build_instances(self.context, self.building)
        stored = self.stored_building()
        self.assertEqual(vm_states.ERROR, stored.vm_state)
        self.assertIsNone(stored.task_state)
        faults = objects.InstanceFaultList.get_by_instance_uuids(
            self.context, [self.building.uuid])
        self.assertIn('Placement answered 500 to PUT /allocations/x',
                      faults[0].message)
        self.manager.compute_rpcapi.build_and_run_instance.assert_not_called()

    def test_no_valid_host_leaves_error_with_reason(self):
        for host in ('compute-a', 'compute-b', 'compute-c'):
            self.fill_pmem(host)
        self.manager.build_instances(self.context, self.building)
        self.assertEqual(vm_states.ERROR, self.stored_building().vm_state)
        self.manager.compute_rpcapi.build_and_run_instance.assert_not_called()

    def test_claimed_host_is_asked_to_build(self):
        self.manager.build_instances(self.context, self.building)
        call = self.manager.compute_rpcapi.build_and_run_instance.call_args
        self.assertIn(call[1]['host'], ('compute-b', 'compute-c'))
        self.assertEqual(vm_states.BUILDING, self.stored_building().vm_state)

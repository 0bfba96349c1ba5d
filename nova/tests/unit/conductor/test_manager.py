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

"""ConductorManager: live_migrate_instance over RPC (a call, or a cast
for the REST API's 2.34+), build_instances."""

import time
from unittest import mock

from nova.compute import instance_actions
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import rpcapi as conductor_rpcapi
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


class AsyncLiveMigrateInstanceTestCase(base.LiveMigrationTestBase):
    """The cast: nobody waits; the outcome is the migration and the
    action's ``conductor_live_migrate_instance`` event."""

    def setUp(self):
        super().setUp()
        self.start_conductor()
        instance_actions.start_action(self.context, self.instance.uuid,
                                      instance_actions.LIVE_MIGRATION)

    def wait_for_status(self, migration, statuses, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            current = objects.Migration.get_by_id(self.context,
                                                  migration.id)
            if current.status in statuses:
                return current
            self.assertLess(time.monotonic(), deadline,
                            'migration still %s' % current.status)
            time.sleep(0.02)

    def wait_for_action_message(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            action = objects.InstanceAction.get_by_request_id(
                self.context, self.instance.uuid, self.context.request_id)
            if action.message:
                return action
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)

    def conductor_event(self):
        action = objects.InstanceAction.get_by_request_id(
            self.context, self.instance.uuid, self.context.request_id)
        events = objects.InstanceActionEventList.get_by_action(
            self.context, action.id)
        [event] = [e for e in events
                   if e.event == 'conductor_live_migrate_instance']
        return action, event

    def test_started(self):
        migration = self.create_migration('compute-b')
        self.assertIsNone(self.rpcapi.live_migrate_instance(
            self.context, self.instance, migration, host='compute-b',
            force=True, async_=True))
        self.wait_for_status(migration, ('queued',))
        self.assertEqual({'compute-b': base.SOURCE_AMOUNTS},
                         self.allocations(self.instance.uuid))
        action, event = self.conductor_event()
        self.assertEqual((instance_actions.SUCCESS, None),
                         (event.result, action.message))

    def test_refusal_is_recorded_not_raised(self):
        self.set_service('compute-b', version=2)
        migration = self.create_migration('compute-b')
        # Nobody would catch it: the manager's method returns.
        self.assertIsNone(self.conductor.manager.live_migrate_instance(
            self.context, self.instance, migration, host='compute-b',
            force=True, async_=True))
        self.assert_rolled_back(migration)
        self.assertEqual(vm_states.ACTIVE, self.stored_instance().vm_state)
        action, event = self.conductor_event()
        self.assertEqual(instance_actions.ERROR, event.result)
        self.assertIn('compute host compute-b runs service version 2',
                      event.details)
        self.assertEqual('conductor', event.host)
        self.assertEqual(instance_actions.ERROR_MESSAGE, action.message)

    def test_no_valid_host_is_recorded(self):
        self.fill_pmem('compute-b')
        self.fill_pmem('compute-c')
        migration = self.create_migration()
        self.assertIsNone(self.rpcapi.live_migrate_instance(
            self.context, self.instance, migration, async_=True))
        self.wait_for_status(migration, ('error',))
        action = self.wait_for_action_message()
        self.assert_rolled_back(migration)
        self.assertEqual(instance_actions.ERROR_MESSAGE, action.message)
        _action, event = self.conductor_event()
        self.assertIn('compute-b: not enough free %s' % base.PMEM,
                      event.details)

    def test_unexpected_error_is_logged_not_raised(self):
        migration = self.create_migration('compute-b')
        manager = self.conductor.manager
        with mock.patch('nova.conductor.tasks.live_migrate.'
                        'LiveMigrationTask._execute',
                        side_effect=RuntimeError('bug')), \
                mock.patch('nova.conductor.manager.LOG') as log:
            self.assertIsNone(manager.live_migrate_instance(
                self.context, self.instance, migration, host='compute-b',
                async_=True))
        log.exception.assert_called_once()
        _action, event = self.conductor_event()
        self.assertEqual(('Error', 'RuntimeError'),
                         (event.result, event.details))
        self.assert_rolled_back(migration)

    def test_call_still_raises(self):
        # An API older than 1.4 calls without async_: the refusal is its
        # answer, as before.
        self.set_service('compute-b', version=2)
        migration = self.create_migration('compute-b')
        self.assertRaises(exception.MigrationPreCheckError,
                          self.conductor.manager.live_migrate_instance,
                          self.context, self.instance, migration,
                          host='compute-b', force=True)
        self.assert_rolled_back(migration)

    def test_conductor_older_than_1_4_gets_the_old_method_cast(self):
        rpcapi = conductor_rpcapi.ConductorAPI(version_cap='1.3')
        migration = self.create_migration('compute-b')
        with mock.patch.object(rpcapi.client, 'prepare',
                               wraps=rpcapi.client.prepare) as prepare:
            self.assertIsNone(rpcapi.live_migrate_instance(
                self.context, self.instance, migration, host='compute-b',
                force=True, async_=True))
        self.assertEqual('1.2', prepare.call_args[1]['version'])
        self.wait_for_status(migration, ('queued',))

    def test_pinned_api_cannot_send_async(self):
        rpcapi = conductor_rpcapi.ConductorAPI(version_cap='1.4')
        self.assertTrue(rpcapi.can_send_version('1.4'))
        self.assertEqual('1.4', conductor_rpcapi.ConductorAPI.VERSION)
        self.assertEqual('1.4', self.conductor.manager.target.version)


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

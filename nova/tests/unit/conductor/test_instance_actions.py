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

"""The conductor's events: over RPC, under the API request's id."""

from unittest import mock

from oslo_utils import uuidutils

from nova.compute import instance_actions
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.objects import fields
from nova.tests.unit.conductor import base


class ConductorEventsTestCase(base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_conductor()
        # A fresh request, as the API makes one per call: the conductor
        # must find its action by this id, carried over RPC.
        self.request = nova_context.RequestContext(
            user_id='fake-user', project_id='fake-project', is_admin=True,
            request_id='req-' + uuidutils.generate_uuid())

    def start(self, action):
        instance_actions.start_action(self.request, self.instance.uuid,
                                      action)

    def stored_action(self, instance=None):
        return objects.InstanceAction.get_by_request_id(
            self.request, (instance or self.instance).uuid,
            self.request.request_id)

    def stored_events(self, instance=None):
        return objects.InstanceActionEventList.get_by_action(
            self.request, self.stored_action(instance).id).objects


class TestLiveMigration(ConductorEventsTestCase):

    def test_started(self):
        self.start(instance_actions.LIVE_MIGRATION)
        migration = self.create_migration('compute-b')
        self.rpcapi.live_migrate_instance(self.request, self.instance,
                                          migration, host='compute-b',
                                          force=True)
        [event] = self.stored_events()
        self.assertEqual(
            ('conductor_live_migrate_instance', 'Success', 'conductor'),
            (event.event, event.result, event.host))
        # The migration goes on on the computes: not finished here.
        action = self.stored_action()
        self.assertIsNone(action.finish_time)
        self.assertIsNone(action.message)

    def test_refused(self):
        self.start(instance_actions.LIVE_MIGRATION)
        self.set_service('compute-b', version=2)
        migration = self.create_migration('compute-b')
        self.assertRaises(exception.MigrationPreCheckError,
                          self.rpcapi.live_migrate_instance, self.request,
                          self.instance, migration, host='compute-b',
                          force=True)
        self.assert_rolled_back(migration)
        [event] = self.stored_events()
        self.assertEqual('Error', event.result)
        self.assertIn('compute host compute-b runs service version 2',
                      event.details)
        self.assertIn('MigrationPreCheckError', event.traceback)
        action = self.stored_action()
        self.assertEqual('Error', action.message)
        self.assertIsNotNone(action.finish_time)

    def test_without_action_the_migration_still_runs(self):
        # No action for the request (a caller that recorded none).
        migration = self.create_migration('compute-b')
        self.rpcapi.live_migrate_instance(self.request, self.instance,
                                          migration, host='compute-b',
                                          force=True)
        self.assertEqual(fields.MigrationStatus.QUEUED,
                         objects.Migration.get_by_id(
                             self.context, migration.id).status)

    def test_recording_failure_does_not_change_the_outcome(self):
        self.start(instance_actions.LIVE_MIGRATION)
        self.set_service('compute-b', version=2)
        migration = self.create_migration('compute-b')
        with mock.patch('nova.db.api.instance_action_event_finish',
                        side_effect=RuntimeError('db hiccup')):
            self.assertRaises(exception.MigrationPreCheckError,
                              self.rpcapi.live_migrate_instance,
                              self.request, self.instance, migration,
                              host='compute-b', force=True)
        self.assert_rolled_back(migration)


class TestColdMigration(ConductorEventsTestCase):

    def test_refused(self):
        self.instance.task_state = task_states.RESIZE_PREP
        self.instance.save()
        self.start(instance_actions.MIGRATE)
        migration = objects.Migration(
            self.context, instance_uuid=self.instance.uuid,
            migration_type=fields.MigrationType.MIGRATION,
            status=fields.MigrationStatus.PRE_MIGRATING,
            source_compute=self.SOURCE, source_node=self.SOURCE,
            dest_compute='compute-b')
        migration.create()
        # Version 3 computes cannot carry vpmem data in a cold migration.
        self.assertRaises(exception.MigrationPreCheckError,
                          self.rpcapi.migrate_server, self.request,
                          self.instance, migration, host='compute-b')
        [event] = self.stored_events()
        self.assertEqual(('conductor_migrate_server', 'Error'),
                         (event.event, event.result))
        self.assertIn('cold migration needs version', event.details)
        self.assertEqual('Error', self.stored_action().message)


class TestBuild(ConductorEventsTestCase):

    def setUp(self):
        super().setUp()
        self.manager = self.conductor.manager
        self.manager.compute_rpcapi = mock.Mock()
        self.building = objects.Instance(
            self.context, uuid=uuidutils.generate_uuid(),
            user_id=self.context.user_id,
            project_id=self.context.project_id, display_name='new',
            flavor=self.flavor, vm_state=vm_states.BUILDING,
            task_state=task_states.SCHEDULING)
        self.building.create()
        instance_actions.start_action(self.request, self.building.uuid,
                                      instance_actions.CREATE)

    def test_scheduled(self):
        self.manager.build_instances(self.request, self.building)
        [event] = self.stored_events(self.building)
        self.assertEqual(
            ('conductor_schedule_and_build_instances', 'Success'),
            (event.event, event.result))
        self.assertIsNone(self.stored_action(self.building).finish_time)

    def test_no_valid_host(self):
        for host in ('compute-a', 'compute-b', 'compute-c'):
            self.fill_pmem(host)
        self.manager.build_instances(self.request, self.building)
        [event] = self.stored_events(self.building)
        self.assertEqual('Error', event.result)
        self.assertIn('No valid host', event.details)
        action = self.stored_action(self.building)
        self.assertEqual('Error', action.message)
        self.assertIsNotNone(action.finish_time)
        # The fault and the state are as before.
        stored = objects.Instance.get_by_uuid(self.context,
                                              self.building.uuid)
        self.assertEqual(vm_states.ERROR, stored.vm_state)

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

"""ColdMigrationTask against real placement and a real database."""

from unittest import mock

from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor.tasks import migrate
from nova import exception
from nova import objects
from nova.objects import fields
from nova.objects import service as service_obj
from nova.tests.unit.conductor import base

SOURCE_AMOUNTS = base.SOURCE_AMOUNTS
NEW = service_obj.COLD_MIGRATION_VERSION


class ColdMigrationTaskTestCase(base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        for host in self.services:
            self.set_service(host, version=NEW)
        self.instance.task_state = task_states.RESIZE_PREP
        self.instance.save()
        self.dests.rpc.prep_resize.side_effect = self.prep

    def prep(self, context, instance, migration, host, allocations=None):
        # The destination's claim, as the contract says: a migration
        # context naming its namespaces, or an exception.
        self.dests.check(context, instance, host, migration, False,
                         allocations)

    def run_task(self, dest=None):
        self.migration = objects.Migration(
            self.context, instance_uuid=self.instance.uuid,
            migration_type=fields.MigrationType.MIGRATION,
            status=fields.MigrationStatus.PRE_MIGRATING,
            source_compute=self.SOURCE, source_node=self.SOURCE,
            dest_compute=dest, user_id=self.context.user_id,
            project_id=self.context.project_id)
        self.migration.create()
        task = migrate.ColdMigrationTask(
            self.context, self.instance, dest, self.migration,
            self.dests.rpc, self.client, image_meta={'kernel': '/k'})
        return task.execute()

    def assert_started_to(self, dest):
        self.assertEqual({self.SOURCE: SOURCE_AMOUNTS},
                         self.allocations(self.migration.uuid))
        self.assertEqual({dest: SOURCE_AMOUNTS},
                         self.allocations(self.instance.uuid))
        self.dests.rpc.resize_instance.assert_called_once_with(
            self.context, self.instance, mock.ANY, {'kernel': '/k'},
            host=self.SOURCE)
        self.assertEqual(dest, self.dests.rpc.resize_instance.call_args[0][
            2].dest_compute)
        # The source gets the destination's namespaces with the instance.
        self.assertEqual(
            {self.nodes[dest].uuid},
            {r.provider_uuid for r in
             self.instance.migration_context.new_resources})

    def test_requested_host(self):
        self.run_task('compute-c')
        self.assert_started_to('compute-c')
        self.dests.rpc.live_migration.assert_not_called()

    def test_scheduled_skips_a_refusing_destination(self):
        self.dests.refuse['compute-b'] = exception.DestinationVPMEMMismatch(
            reason='device 0: sizes differ')
        self.run_task()
        self.assert_started_to('compute-c')
        # compute-b's placement claim was released when it refused.
        self.assertEqual({}, self.usage('compute-b'))

    def test_old_destination_is_refused_naming_it(self):
        self.set_service('compute-b', version=NEW - 1)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-b')
        self.assertIn('compute-b runs service version %d; cold migration '
                      'needs version %d' % (NEW - 1, NEW), str(err))
        self.assert_rolled_back(self.migration)
        self.dests.rpc.prep_resize.assert_not_called()

    def test_old_source_is_refused(self):
        self.set_service(self.SOURCE, version=NEW - 1)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task)
        self.assertIn(self.SOURCE, str(err))
        self.assert_rolled_back(self.migration)

    def test_only_active_instances(self):
        self.instance.vm_state = vm_states.STOPPED
        self.instance.save()
        self.assertRaises(exception.InstanceInvalidState, self.run_task)
        self.dests.rpc.prep_resize.assert_not_called()
        self.assertEqual({self.SOURCE: SOURCE_AMOUNTS},
                         self.allocations(self.instance.uuid))

    def test_no_host_names_every_reason(self):
        self.fill_pmem('compute-b')
        self.dests.refuse['compute-c'] = exception.MigrationPreCheckError(
            reason='compute-c is busy')
        err = self.assertRaises(exception.NoValidHost, self.run_task)
        self.assertIn('cannot migrate to any host', str(err))
        self.assertIn('compute-c: compute-c is busy', str(err))
        self.assertIn('compute-b: not enough free %s' % base.PMEM, str(err))
        self.assert_rolled_back(self.migration)

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

"""Confirm and revert right after the server shows VERIFY_RESIZE: the
destination saved the instance RESIZED and is about to mark the
migration finished."""

import threading
import time

from oslo_utils import uuidutils

from nova.compute import cold_migrate_api
from nova.compute import vm_states
from nova import objects
from nova.objects import fields
from nova import test
from nova.tests.unit.compute import test_cold_migrate_late as late

Status = fields.MigrationStatus


class FinishingTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = late.admin_context()
        self.instance = late.make_instance(
            self.context, host='compute-b', vm_state=vm_states.RESIZED)

    def _migration(self, status, dest='compute-b'):
        migration = objects.Migration(
            self.context, uuid=uuidutils.generate_uuid(),
            instance_uuid=self.instance.uuid, source_compute='compute-a',
            dest_compute=dest, source_node='compute-a', dest_node=dest,
            migration_type=fields.MigrationType.MIGRATION, status=status)
        migration.create()
        return migration

    def test_a_finishing_migration_is_waited_for(self):
        migration = self._migration(Status.POST_MIGRATING)

        def mark_finished():
            migration.status = Status.FINISHED
            migration.save()
        timer = threading.Timer(0.3, mark_finished)
        timer.start()
        self.addCleanup(timer.join)
        finished = cold_migrate_api._finished_on(self.context, self.instance)
        self.assertEqual([migration.uuid], [m.uuid for m in finished])

    def test_waits_no_longer_than_the_settle_time(self):
        self._migration(Status.POST_MIGRATING)
        self.assertEqual([], cold_migrate_api._finished_on(
            self.context, self.instance, settle=0.2))

    def test_nothing_finishing_is_refused_at_once(self):
        # Post-migrating elsewhere than where the instance is: not the
        # moment between the two saves, so no wait.
        self._migration(Status.POST_MIGRATING, dest='compute-c')
        began = time.monotonic()
        self.assertEqual([], cold_migrate_api._finished_on(
            self.context, self.instance, settle=60))
        self.assertLess(time.monotonic() - began, 5)

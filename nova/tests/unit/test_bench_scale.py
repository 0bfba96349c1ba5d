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

"""The scale bench says why accepted migrations did not complete."""

from nova.db import api as db
from nova import test
from nova.tests.unit.compute import test_cold_migrate_late
from nova.tests.unit.db import test_instances
from tools.bench import scale


class WhyNotCompletedTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = test_cold_migrate_late.admin_context()

    def _instance(self, *messages):
        uuid = db.instance_create(self.context,
                                  test_instances.instance_values())['uuid']
        for message in messages:
            db.instance_fault_create(self.context, {
                'instance_uuid': uuid, 'code': 500,
                'message': message, 'host': 'compute-07'})
        return uuid

    def test_newest_fault_counted_per_reason(self):
        first = self._instance(
            'old', 'Timed out waiting for a reply from compute-07')
        second = self._instance(
            'Timed out waiting for a reply from compute-12')
        quiet = self._instance()
        reasons = scale.why_not_completed(self.context, {
            first: 'failed', second: 'failed', quiet: 'error'})
        self.assertEqual({
            'failed: Timed out waiting for a reply from <host>': 2,
            'error: no fault recorded': 1}, reasons)

    def test_one_not_ended_says_where_its_migration_stands(self):
        uuid = self._instance()
        db.migration_create(self.context, {
            'instance_uuid': uuid, 'source_compute': 'compute-01',
            'dest_compute': 'compute-02', 'status': 'queued',
            'migration_type': 'live-migration'})
        self.assertEqual(
            {'still running (migration queued): no fault recorded': 1},
            scale.why_not_completed(self.context, {uuid: 'still running'}))

    def test_reasons_are_listed_in_the_table(self):
        text = scale.markdown({'not_completed_reasons': {'failed: x': 2}})
        self.assertIn('Not completed x2: failed: x', text)

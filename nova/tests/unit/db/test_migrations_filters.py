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

"""The filters of migration_get_all_by_filters that the API's later
microversions use: user/project (2.80), changes-since/-before (2.59,
2.66) and a list of hosts."""

import datetime

from nova.db import api as db
from nova.tests.unit.db import base
from nova.tests.unit.db import test_instances
from nova.tests.unit.db import test_migration_records


class MigrationFiltersTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.instance = db.instance_create(
            self.context, test_instances.instance_values())
        self.clock = datetime.datetime(2024, 1, 1)

    # The records' test case makes migrations a minute apart.
    _create = test_migration_records.MigrationRecordTestCase._create

    def _ids(self, filters):
        return [m['id'] for m in db.migration_get_all_by_filters(
            self.context, filters)]

    def test_user_and_project(self):
        alice = self._create(user_id='alice', project_id='p1')
        bob = self._create(user_id='bob', project_id='p2')
        self.assertEqual([alice['id']], self._ids({'user_id': 'alice'}))
        self.assertEqual([bob['id']], self._ids({'project_id': 'p2'}))
        self.assertEqual([bob['id'], alice['id']],
                         self._ids({'project_id': ['p1', 'p2']}))

    def test_changes_since_and_before_bound_updated_at(self):
        times = [datetime.datetime(2025, 1, 1, hour) for hour in (1, 2, 3)]
        first, second, third = [self._create(updated_at=t) for t in times]
        self.assertEqual([third['id'], second['id']], self._ids(
            {'changes-since': times[1]}))
        self.assertEqual([second['id'], first['id']], self._ids(
            {'changes-before': times[1]}))
        self.assertEqual([second['id']], self._ids(
            {'changes-since': times[1], 'changes-before': times[1]}))
        # An aware datetime is compared in UTC.
        aware = datetime.datetime(
            2025, 1, 1, 4, tzinfo=datetime.timezone(
                datetime.timedelta(hours=1)))
        self.assertEqual([third['id']], self._ids({'changes-since': aware -
                                                   datetime.timedelta(
                                                       minutes=1)}))

    def test_list_of_hosts(self):
        one = self._create(source_compute='h1', dest_compute='h2')
        two = self._create(source_compute='h3', dest_compute='h4')
        self._create(source_compute='h5', dest_compute='h6')
        self.assertEqual([two['id'], one['id']],
                         self._ids({'host': ['h2', 'h3']}))

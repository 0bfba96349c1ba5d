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

"""Base class of the DB layer's tests.

It sets up only what the DB API needs (configuration and a private
database), so these tests do not depend on the objects or messaging.
"""

import fixtures
import testtools

from nova import context
from nova.tests.fixtures import conf as conf_fixture
from nova.tests.fixtures import database as db_fixture


class DbTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # Threads in the race tests must not hang a worker forever.
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.conf = self.useFixture(conf_fixture.ConfFixture()).conf
        self.database = self.useFixture(db_fixture.Database())
        self.context = context.get_admin_context()

    def deleted_context(self, mode='yes'):
        return context.get_admin_context(read_deleted=mode)

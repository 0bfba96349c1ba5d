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

"""The embedded placement's check of its database URL."""

import contextlib
import io

from nova.embedded import placement
from nova import test


class CheckConnectionTestCase(test.NoDBTestCase):

    def test_psycopg3_refused_with_the_way_out(self):
        # Its allocation writes would answer 500 on every claim.
        err = self.assertRaises(
            ValueError, placement.check_connection,
            'postgresql+psycopg://placement:pw@db-host/placement')
        self.assertIn('postgresql+psycopg driver', str(err))
        self.assertIn('use postgresql+psycopg2://', str(err))

    def test_drivers_placement_works_with(self):
        for url in ('postgresql+psycopg2://placement:pw@db-host/placement',
                    'postgresql://placement:pw@db-host/placement',
                    'mysql+pymysql://placement:pw@db-host/placement',
                    'sqlite:////var/lib/nova/placement.sqlite'):
            placement.check_connection(url)

    def test_command_line_says_it_in_one_line(self):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertRaises(SystemExit, placement.main, [
                '--connection', 'postgresql+psycopg://p:pw@db-host/p'])
        self.assertIn('use postgresql+psycopg2://', stderr.getvalue())

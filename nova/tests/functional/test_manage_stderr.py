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

"""nova-manage writes nothing on stderr but its own messages.

The console script of this virtualenv runs without ``PYTHONWARNINGS``
(tox no longer sets it), so a library warning printed at import or at
run time (eventlet's, dnspython's, a deprecation) would show here.
"""

import os
import subprocess
import sys

import fixtures
import testtools


class TestManageStderr(testtools.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.conf_path = os.path.join(tmp, 'nova.conf')
        with open(self.conf_path, 'w') as conf:
            conf.write('[DEFAULT]\nstate_path = %s\ntransport_url = fake://\n'
                       '[database]\nconnection = sqlite:///%s/nova.sqlite\n'
                       % (tmp, tmp))
        self.env = {name: value for name, value in os.environ.items()
                    if name != 'PYTHONWARNINGS'
                    and not name.startswith('OS_')}

    def _manage(self, *args):
        script = os.path.join(os.path.dirname(sys.executable), 'nova-manage')
        return subprocess.run(
            [script, '--config-file', self.conf_path] + list(args),
            capture_output=True, text=True, timeout=120, env=self.env)

    def test_successful_commands_print_nothing_on_stderr(self):
        for args in (('db', 'sync'), ('db', 'version'),
                     ('service', 'list')):
            result = self._manage(*args)
            self.assertEqual((0, ''), (result.returncode, result.stderr),
                             args)

    def test_failed_sync_prints_only_its_error(self):
        self.assertEqual(0, self._manage('db', 'sync').returncode)
        result = self._manage('db', 'sync', '--version', 'feedface')
        self.assertEqual(1, result.returncode)
        lines = result.stderr.splitlines()
        self.assertEqual(1, len(lines), result.stderr)
        self.assertTrue(lines[0].startswith('nova-manage db sync failed: '),
                        lines[0])
        self.assertIn('feedface', lines[0])

    def test_unknown_command_prints_only_usage(self):
        result = self._manage('service', 'bogus')
        self.assertEqual(2, result.returncode)
        lines = result.stderr.splitlines()
        self.assertEqual(2, len(lines), result.stderr)
        self.assertTrue(lines[0].startswith('usage: nova-manage service '),
                        lines[0])
        self.assertTrue(lines[1].startswith(
            "nova-manage service: error: argument <action>: invalid "
            "choice: 'bogus'"), lines[1])

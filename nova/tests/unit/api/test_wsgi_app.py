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

"""The WSGI entry point: set up once, under a lock, and never exit."""

import json
import sys
import threading
import time
from unittest import mock

import fixtures
import webob

from nova.api import wsgi_app
from nova.cmd import common
from nova import test
from nova.wsgi import osapi_compute


class TestWSGIApp(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        # Each test starts with the application not yet built.
        self.useFixture(fixtures.MonkeyPatch('nova.api.wsgi_app._app',
                                             None))
        self.prepare = self.useFixture(fixtures.MockPatchObject(
            common, 'prepare_service')).mock

    def _get(self, app=wsgi_app.application, path='/'):
        return webob.Request.blank(path).get_response(app)

    def test_concurrent_first_requests_build_once(self):
        def slow_prepare(*args, **kwargs):
            # Long enough for every thread to arrive while one builds.
            time.sleep(0.2)

        self.prepare.side_effect = slow_prepare
        statuses = []
        start = threading.Barrier(8)

        def first_request():
            start.wait()
            statuses.append(self._get().status_int)

        threads = [threading.Thread(target=first_request) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        self.assertEqual([200] * 8, statuses)
        self.assertEqual(1, self.prepare.call_count)
        self.assertEqual(mock.call('nova-api', [], exit_on_error=False),
                         self.prepare.call_args)

    def test_config_files_from_environment(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_NOVA_CONFIG_FILES', '/etc/a.conf;/etc/b.conf'))
        self.assertEqual(200, self._get().status_int)
        self.assertEqual(
            ['--config-file', '/etc/a.conf', '--config-file', '/etc/b.conf'],
            self.prepare.call_args[0][1])

    def test_failed_setup_answers_503_then_retries(self):
        self.prepare.side_effect = common.StartupError(
            'nova-api could not start: DBNotCurrent: run nova-manage db sync')
        response = self._get()
        self.assertEqual(503, response.status_int)
        fault = json.loads(response.body)['serviceUnavailable']
        self.assertEqual(503, fault['code'])
        self.assertIn('run nova-manage db sync', fault['message'])
        self.assertIsNone(wsgi_app._app)
        # The operator fixes the problem: the next request sets up again.
        self.prepare.side_effect = None
        self.assertEqual(200, self._get().status_int)
        self.assertEqual(2, self.prepare.call_count)
        self.assertIsNotNone(wsgi_app._app)

    def test_sys_exit_in_setup_does_not_escape(self):
        self.prepare.side_effect = lambda *a, **k: sys.exit('bad option')
        response = self._get()
        self.assertEqual(503, response.status_int)
        self.assertIn('SystemExit: bad option', response.text)

    def test_osapi_compute_module_serves(self):
        self.assertIs(wsgi_app.application, osapi_compute.application)
        response = self._get(osapi_compute.application, '/v2.1')
        self.assertEqual(200, response.status_int)
        self.assertEqual('v2.1', response.json['version']['id'])


class TestPrepareServiceRaises(test.NoDBTestCase):
    """exit_on_error=False: errors raise, and a retry can parse again."""

    def setUp(self):
        super().setUp()
        # The fixture parsed an empty command line; start unparsed, as a
        # WSGI process does. Its cleanup resets the configuration.
        common.CONF.clear()
        self.useFixture(fixtures.MockPatchObject(common.logging, 'setup'))
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def test_missing_config_file_raises_then_retry_parses(self):
        missing = self.tmp + '/missing.conf'
        error = self.assertRaises(
            common.StartupError, common.prepare_service, 'nova-api',
            ['--config-file', missing], exit_on_error=False)
        self.assertIn(missing, str(error))
        good = self.tmp + '/nova.conf'
        with open(good, 'w') as conf:
            conf.write('[api]\nport = 9999\n')
        common.prepare_service('nova-api', ['--config-file', good],
                               check_db=False, exit_on_error=False)
        self.assertEqual(9999, common.CONF.api.port)

    def test_unusable_database_raises(self):
        empty = self.tmp + '/nova.conf'
        open(empty, 'w').close()
        with mock.patch.object(common, 'check_db_schema',
                               side_effect=RuntimeError('no such table')):
            error = self.assertRaises(
                common.StartupError, common.prepare_service, 'nova-api',
                ['--config-file', empty], exit_on_error=False)
        self.assertEqual('nova-api could not start: RuntimeError: no such '
                         'table', str(error))
        self.assertFalse(common.rpc.initialized())

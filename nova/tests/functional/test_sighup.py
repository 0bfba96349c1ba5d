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

"""SIGHUP reloads the configuration files; the service runs on.

The services run as real processes (``main()`` of each command) on a
config file that the test edits before sending SIGHUP, as an operator's
``systemctl reload`` does.
"""

import json
import os
import signal
import socket
import time
import urllib.request

from nova.tests.functional import test_services


class TestSIGHUP(test_services.ServiceProcessTestCase):

    def _get(self, path):
        url = 'http://127.0.0.1:%s%s' % (self.api_port, path)
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())

    def _listening(self):
        try:
            with socket.create_connection(('127.0.0.1', self.api_port),
                                          timeout=1):
                return True
        except OSError:
            return False

    def _log(self, binary):
        with open(os.path.join(self.tmp, '%s.log' % binary)) as log:
            return log.read()

    def _wait_for_log(self, binary, text, proc):
        self._wait_until(lambda: text in self._log(binary), [proc],
                         '%r in the log of %s' % (text, binary))

    def _edit_config(self, old, new):
        with open(self.conf_path) as conf:
            text = conf.read()
        self.assertIn(old, text)
        with open(self.conf_path, 'w') as conf:
            conf.write(text.replace(old, new, 1))

    def _debug_lines(self, binary, after):
        log = self._log(binary)
        return [line for line in log[log.index(after):].splitlines()
                if ' DEBUG ' in line]

    def test_api_reloads_debug_and_keeps_serving(self):
        self._db_sync()
        api = self._start('nova-api')
        self._wait_until(self._listening, [api], 'nova-api to listen')
        self.assertEqual([], [line for line in self._log('nova-api')
                              .splitlines() if ' DEBUG ' in line])

        self._edit_config('[DEFAULT]\n', '[DEFAULT]\ndebug = true\n')
        api.send_signal(signal.SIGHUP)
        reloaded = 'Configuration reloaded; changed: [DEFAULT]debug.'
        self._wait_for_log('nova-api', reloaded, api)
        self.assertIsNone(api.poll())
        self.assertEqual(['v2.0', 'v2.1'],
                         [v['id'] for v in self._get('/')['versions']])
        self._wait_until(lambda: self._debug_lines('nova-api', reloaded),
                         [api], 'a DEBUG line after the reload')

        # A file that no longer parses: the service keeps its previous
        # configuration, says so, and still serves.
        self._edit_config('[DEFAULT]\n', '[DEFAULT\n')
        api.send_signal(signal.SIGHUP)
        self._wait_for_log('nova-api', 'Configuration not reloaded', api)
        self.assertEqual(['v2.0', 'v2.1'],
                         [v['id'] for v in self._get('/')['versions']])

        self.assertEqual(0, self._stop(api))
        self.assertNotIn('Traceback', self._log('nova-api'))

    def test_conductor_survives_sighup_and_keeps_beating(self):
        self._db_sync()
        conductor = self._start('nova-conductor')

        def beats():
            return self._report_counts().get('nova-conductor', (0, 0))[0]

        self._wait_until(lambda: beats() >= 1, [conductor], 'a heartbeat')
        self._edit_config('[DEFAULT]\n', '[DEFAULT]\ndebug = true\n')
        conductor.send_signal(signal.SIGHUP)
        reloaded = 'Configuration reloaded; changed: [DEFAULT]debug.'
        self._wait_for_log('nova-conductor', reloaded, conductor)
        after = beats()
        self._wait_until(lambda: beats() >= after + 2, [conductor],
                         'two heartbeats after SIGHUP')
        self._wait_until(
            lambda: self._debug_lines('nova-conductor', reloaded),
            [conductor], 'a DEBUG line after the reload')
        start = time.monotonic()
        self.assertEqual(0, self._stop(conductor))
        self.assertLess(time.monotonic() - start, 10)

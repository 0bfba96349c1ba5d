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

"""``nova-status upgrade check`` against real placement and the database.

Two computes with namespaces run as usual; the command then runs through
its main() in this process, so it reads the same database and reaches the
same placement as the services. One more test runs the command as an
operator does, as a process, against a database file and placement
served on a port.
"""

import io
import json
import sqlite3
import subprocess
import sys

import fixtures
from oslo_upgradecheck import upgradecheck
from oslo_utils import uuidutils

from nova.cmd import status
from nova import objects
from nova.objects import service as service_obj
from nova.tests.functional import base
from nova.tests.functional import test_services


class NovaStatusTestCase(base.VPMEMTestBase):

    def _nova_status(self):
        # main() parses its own command line into the configuration the
        # test fixture parsed already; the test's overrides survive.
        self.conf.clear()
        self.addCleanup(self.conf.unregister_opt, status.command_opt)
        self.addCleanup(self.conf.clear)
        self.addCleanup(setattr, upgradecheck, 'CONF', upgradecheck.CONF)
        out = io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', out):
            code = status.main(['upgrade', 'check', '--json'],
                               default_config_files=[])
        results = {check['check']: check
                   for check in json.loads(out.getvalue())['checks']}
        return code, results

    def test_current_deployment_passes(self):
        code, results = self._nova_status()
        self.assertEqual(0, code, results)
        self.assertEqual({0}, {c['result'] for c in results.values()})
        self.assertIn('All 2 nova-compute',
                      results['Compute service versions']['details'])

    def test_old_compute_registered_fails_naming_it(self):
        objects.Service(
            self.context, host='compute-old', binary='nova-compute',
            topic='compute',
            version=service_obj.VPMEM_LIVE_MIGRATION_VERSION - 1).create()
        code, results = self._nova_status()
        self.assertEqual(2, code, results)
        versions = results['Compute service versions']
        self.assertEqual(2, versions['result'])
        self.assertIn('compute-old (version %d)'
                      % (service_obj.VPMEM_LIVE_MIGRATION_VERSION - 1),
                      versions['details'])
        self.assertNotIn('compute-a', versions['details'])
        # The other checks still ran, and passed.
        for name in ('Database schema', 'Placement API',
                     'Namespaces in placement'):
            self.assertEqual(0, results[name]['result'], results[name])

    def test_placement_total_off_warns_naming_host_and_label(self):
        rp_uuid = objects.ComputeNode.get_by_host_and_nodename(
            self.context, 'compute-a', 'compute-a').uuid
        _generation, inventory = self.reportclient.get_inventory(
            self.context, rp_uuid)
        rc = 'CUSTOM_PMEM_NAMESPACE_SMALL'
        self.assertEqual(2, inventory[rc]['total'])
        inventory[rc] = dict(inventory[rc], total=3, max_unit=3)
        self.reportclient.set_inventory(self.context, rp_uuid, 'compute-a',
                                        inventory)
        code, results = self._nova_status()
        self.assertEqual(1, code, results)
        details = results['Namespaces in placement']['details']
        self.assertIn('compute-a label SMALL: 2 namespace record(s), '
                      'placement total 3', details)
        self.assertNotIn('compute-b', details)


class NovaStatusProcessTestCase(test_services.ServiceProcessTestCase):

    def _register_compute(self, host, version):
        # What an old nova-compute left in the database when it started.
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            with conn:
                conn.execute(
                    'INSERT INTO services (uuid, host, "binary", topic, '
                    'report_count, disabled, forced_down, version, deleted) '
                    'VALUES (?, ?, ?, ?, 0, 0, 0, ?, 0)',
                    (uuidutils.generate_uuid(), host, 'nova-compute',
                     'compute', version))
        finally:
            conn.close()

    def _nova_status(self, *args):
        code = 'import sys; from nova.cmd.status import main; sys.exit(main())'
        return subprocess.run(
            [sys.executable, '-c', code, '--config-file', self.conf_path,
             'upgrade', 'check'] + list(args),
            capture_output=True, text=True, timeout=120)

    def test_old_compute_makes_the_command_fail(self):
        self._db_sync()
        self._start_placement()
        self._register_compute('compute-new', service_obj.SERVICE_VERSION)
        result = self._nova_status()
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)

        old = service_obj.VPMEM_LIVE_MIGRATION_VERSION - 1
        self._register_compute('compute-old', old)
        result = self._nova_status('--json')
        self.assertEqual(2, result.returncode, result.stdout + result.stderr)
        checks = {check['check']: check
                  for check in json.loads(result.stdout)['checks']}
        self.assertEqual(2, checks['Compute service versions']['result'])
        self.assertIn('compute-old (version %d)' % old,
                      checks['Compute service versions']['details'])
        self.assertEqual(0, checks['Placement API']['result'], checks)
        self.assertEqual('', result.stderr)

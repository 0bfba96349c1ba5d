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

"""How the privsep daemon is started: what doc/source/admin/privsep.rst
tells operators to allow in sudoers."""

import subprocess
import sys

from oslo_config import cfg

from nova import test
import nova.privsep

SOCK = '/tmp/tmpabc/privsep.sock'


class HelperCommandTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.ctx = nova.privsep.sys_admin_pctxt
        # The command names the files nova-compute was started with.
        cfg.CONF.set_override('config_file', ['/etc/nova/nova-compute.conf'])
        self.addCleanup(cfg.CONF.clear_override, 'config_file')

    def test_default_is_sudo_privsep_helper_with_our_config(self):
        self.assertEqual(
            ['sudo', 'privsep-helper',
             '--config-file', '/etc/nova/nova-compute.conf',
             '--privsep_context', 'nova.privsep.sys_admin_pctxt',
             '--privsep_sock_path', SOCK],
            self.ctx.helper_command(SOCK))

    def test_helper_command_option_replaces_sudo_and_config(self):
        self.flags(helper_command='sudo /opt/nova/bin/privsep-helper '
                                  '--config-file /etc/nova/nova-compute.conf',
                   group='nova_sys_admin')
        self.assertEqual(
            ['sudo', '/opt/nova/bin/privsep-helper',
             '--config-file', '/etc/nova/nova-compute.conf',
             '--privsep_context', 'nova.privsep.sys_admin_pctxt',
             '--privsep_sock_path', SOCK],
            self.ctx.helper_command(SOCK))


class HelperImportTestCase(test.NoDBTestCase):

    def test_helper_can_load_the_context(self):
        # privsep-helper imports oslo.privsep (and through it eventlet's
        # probe, oslo.service...) before it imports our context by name:
        # nova's package set-up must cope with that order, or the daemon
        # never starts and every ndctl/daxio call fails.
        script = (
            'import oslo_privsep.daemon\n'
            'from oslo_utils import importutils\n'
            'ctx = importutils.import_class("nova.privsep.sys_admin_pctxt")\n'
            'print(ctx.cfg_section)\n')
        result = subprocess.run([sys.executable, '-c', script],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr[-2000:])
        self.assertEqual('nova_sys_admin', result.stdout.strip())

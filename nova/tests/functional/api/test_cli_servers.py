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

"""The real ``openstack`` CLI: server list filters, set, lock and unlock.

A project member's CLI sends the noauth2 token ``user:project`` (the
``admin_token`` auth type); ``--os-auth-type none`` is an administrator's
(token ``notused``), as in :mod:`test_openstack_cli`. The lists are the
administrator's: with ``admin_token`` the CLI's ``server list`` wants an
identity v3 endpoint, and every service's endpoint is the compute one
(the API's answers to a member's lists are in test_servers_api).
"""

import json
import os
import subprocess

from nova.compute import vm_states
from nova import objects
from nova.tests.functional.api import test_openstack_cli

MEMBER_TOKEN = 'user:project'


class ServersCLITest(test_openstack_cli.CLITestBase):

    def member(self, *args, expect_fail=False):
        """The CLI of a member of project ``project``."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        cmd = [self.cli, '--os-auth-type', 'admin_token',
               '--os-token', MEMBER_TOKEN, '--os-endpoint', self.endpoint,
               '--os-identity-api-version', '3'] + list(args)
        result = subprocess.run(cmd, capture_output=True, text=True,
                                env=env, timeout=60)
        if expect_fail:
            self.assertNotEqual(0, result.returncode, result.stdout)
            return result.stderr
        self.assertEqual(0, result.returncode,
                         'openstack %s failed:\n%s' % (' '.join(args),
                                                      result.stderr))
        return result.stdout

    def member_json(self, *args):
        return json.loads(self.member(*(args + ('-f', 'json'))))

    def listed(self, *filters):
        """Names in ``server list`` of the administrator's project."""
        return sorted(row['Name'] for row in
                      self.openstack_json('server', 'list', *filters))

    def _boot(self, name, flavor, cli=None):
        cli = cli or self.member_json
        created = cli('server', 'create', '--flavor', flavor, '--image',
                      'cirros', '--nic', 'none', '--wait', name)
        self.assertEqual('ACTIVE', created['status'])
        return created['id']

    def setUp(self):
        super().setUp()
        self.create_flavor(name='f-small', pmem='SMALL', memory_mb=16)
        self.create_flavor(name='f-plain', pmem=None, memory_mb=16)
        # More namespaces than a host has: the scheduler finds no host.
        self.create_flavor(name='f-huge', pmem='SMALL,SMALL,SMALL',
                           memory_mb=16)

    def test_list_filters(self):
        self._boot('vm-1', 'f-small', cli=self.openstack_json)
        self._boot('web-1', 'f-plain', cli=self.openstack_json)
        bad = self.openstack_json('server', 'create', '--flavor', 'f-huge',
                                  '--image', 'cirros', '--nic', 'none',
                                  'bad-1')
        self.wait_for_state(bad['id'], vm_states.ERROR)
        # Another project's server never shows in this project's lists.
        self.boot(self.create_flavor(name='f-other', pmem=None,
                                     memory_mb=16), name='vm-other')

        self.assertEqual(['bad-1', 'vm-1', 'web-1'], self.listed())
        self.assertEqual(['bad-1'], self.listed('--status', 'ERROR'))
        self.assertEqual(['vm-1', 'web-1'], self.listed('--status',
                                                         'ACTIVE'))
        self.assertEqual(['vm-1'], self.listed('--flavor', 'f-small'))
        self.assertEqual(['web-1'], self.listed('--flavor', 'f-plain'))
        self.assertEqual(['vm-1'], self.listed('--name', '^vm'))
        self.assertEqual(['bad-1', 'web-1'],
                         self.listed('--name', 'web|bad'))
        self.assertEqual(['bad-1'],
                         self.listed('--name=-1$', '--status', 'ERROR'))
        self.assertEqual([], self.listed('--name', '^VM'))
        # Every project's with --all-projects.
        self.assertEqual(['vm-1', 'vm-other'],
                         self.listed('--all-projects', '--name', '^vm'))
        # --limit: one page.
        self.assertEqual(1, len(self.listed('--limit', '1')))

    def test_set_name_and_description(self):
        uuid = self._boot('vm-2', 'f-small')
        self.member('server', 'set', '--name', 'renamed', 'vm-2')
        self.member('server', 'set', '--description', 'web tier',
                    'renamed')
        shown = self.member_json('server', 'show', uuid)
        self.assertEqual('renamed', shown['name'])
        self.assertEqual('web tier', shown['description'])
        self.assertEqual('renamed', objects.Instance.get_by_uuid(
            self.context, uuid).display_name)

    def test_lock_and_unlock(self):
        uuid = self._boot('vm-3', 'f-small')
        self.member('server', 'lock', '--reason', 'maintenance', 'vm-3')
        shown = self.member_json('server', 'show', uuid)
        self.assertTrue(shown['locked'])
        self.assertEqual('maintenance', shown['locked_reason'])
        # A member's action on a locked server is refused, with why.
        stderr = self.member('server', 'delete', 'vm-3', expect_fail=True)
        self.assertIn('locked', stderr)
        stderr = self.member('server', 'stop', 'vm-3', expect_fail=True)
        self.assertIn('locked', stderr)
        self.assertEqual(vm_states.ACTIVE, objects.Instance.get_by_uuid(
            self.context, uuid).vm_state)
        self.member('server', 'unlock', 'vm-3')
        self.assertFalse(self.member_json('server', 'show', uuid)['locked'])

        # An administrator's lock: the owner cannot lift it.
        self.openstack('server', 'lock', uuid)
        stderr = self.member('server', 'unlock', 'vm-3', expect_fail=True)
        self.assertIn('403', stderr)
        self.assertTrue(objects.Instance.get_by_uuid(
            self.context, uuid).locked)
        self.openstack('server', 'unlock', uuid)
        self.member('server', 'delete', '--wait', 'vm-3')
        self.wait_for_deleted(uuid)

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

"""Nova's personas with real Keystone tokens, through the CLI.

Users of :data:`~nova.tests.multinode.keystone.PERSONAS`: ``nmn-member``
(member of ``nmn-demo``) boots a server; ``nmn-reader`` (reader of
``nmn-demo``) may look at it but not act on it; ``nmn-other`` (member of
another project) does not see it at all (404, as if it did not exist);
only the admin sees where it runs and moves it. Without a token the API
answers 401.
"""

from nova.tests.multinode import cli_check
from nova.tests.multinode import deployment as nmn
from nova.tests.multinode.tests import base

HOST = 'OS-EXT-SRV-ATTR:host'


class PersonasTest(base.MultinodeTestCase):

    AUTH = 'keystone'

    def _refused(self, cli, code, *args):
        """``openstack args`` as ``cli``'s user fails with HTTP ``code``
        (for 404, the CLI may say it found no such server instead)."""
        error = self.assertRaises(nmn.DeploymentError, cli, *args)
        not_found = ('No server with a name or ID', 'No Server found for')
        if code == 404 and any(text in str(error) for text in not_found):
            return error
        # novaclient-based commands say "(HTTP 403)", SDK-based ones
        # "ForbiddenException: 403: Client Error ...".
        self.assertRegex(str(error), r'\(HTTP %d\)|\b%d: Client Error' % (
            code, code))
        return error

    def test_what_each_persona_gets(self):
        member = cli_check.Cli(self.deployment, 'nmn-member')
        reader = cli_check.Cli(self.deployment, 'nmn-reader')
        other = cli_check.Cli(self.deployment, 'nmn-other')
        # The member boots in its project; the admin cleans up.
        server = member('server', 'create', '--flavor', nmn.FLAVOR,
                        '--image', nmn.IMAGE_NAME, '--nic', 'none', '--wait',
                        'persona-vm', as_json=True)
        uuid = server['id']
        self.addCleanup(self._delete, uuid)
        self.assertEqual('ACTIVE', server['status'])

        # The member and the reader see it, without where it runs (the
        # API leaves the attribute out; the CLI shows it empty).
        for cli in (member, reader):
            shown = cli('server', 'show', uuid, as_json=True)
            self.assertEqual('persona-vm', shown['name'])
            self.assertIsNone(shown.get(HOST))
            self.assertIn(uuid, [row['ID'] for row in cli(
                'server', 'list', as_json=True)])
        # The admin sees where it runs (and it is not the admin's own).
        source = self.server(uuid)[HOST]
        self.assertIn(source, (base.compute(1), base.compute(2)))
        self.assertNotIn(uuid, [row['ID'] for row in self.cli(
            'server', 'list', as_json=True)])
        self.assertIn(uuid, [row['ID'] for row in self.cli(
            'server', 'list', '--all-projects', as_json=True)])

        # A member of another project: it does not exist.
        self._refused(other, 404, 'server', 'show', uuid)
        self._refused(other, 404, 'server', 'stop', uuid)
        self._refused(other, 404, 'server', 'delete', uuid)
        self.assertNotIn(uuid, [row['ID'] for row in other(
            'server', 'list', as_json=True)])
        # The reader may not act on it.
        self._refused(reader, 403, 'server', 'stop', uuid)
        self._refused(reader, 403, 'server', 'delete', uuid)
        # Only the admin lists migrations and moves servers.
        for cli in (member, reader):
            self._refused(cli, 403, 'server', 'migrate', '--live-migration',
                          uuid)
            self._refused(cli, 403, 'server', 'migration', 'list')
            self._refused(cli, 403, 'compute', 'service', 'list')
        self.assertEqual(('ACTIVE', source), (
            self.server(uuid)['status'], self.server(uuid)[HOST]))

        # The member acts on its server; the admin moves it.
        member('server', 'stop', uuid)
        self.wait_server(uuid, 'SHUTOFF')
        member('server', 'start', uuid)
        self.wait_server(uuid, 'ACTIVE')
        self.live_migrate(uuid)
        moved = self.wait_server(uuid)
        self.assertNotEqual(source, moved[HOST])
        self.assertEqual('completed', self.migrations(uuid)[0]['Status'])

        # No token: 401 from nova-api and placement alike.
        for url in (self.deployment.api_endpoint + '/servers',
                    self.deployment.placement_endpoint +
                    '/resource_providers'):
            self.assertEqual(401, _status_without_token(url), url)

        member('server', 'delete', '--wait', uuid)
        self._refused(self.cli, 404, 'server', 'show', uuid)


def _status_without_token(url):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code

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

"""os-keypairs driven by tempest's own keypairs client, and by the CLI.

The flows of tempest 47's keypair tests (tempest.api.compute.keypairs:
test_keypairs, test_keypairs_negative, test_keypairs_v22), made with its
KeyPairsClient, which checks every answer against Nova's schema of the
microversion asked (v2_1 up to 2.1, v2_2 from 2.2: status codes, fields);
then what those tests do not reach: administrators naming a user (2.10),
paging (2.35), import only (2.92), and servers booted with a key_name.
The API is served in-process in front of a conductor, an emulated compute
host and the real placement (tempest_harness).
"""

import json
import os

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization
import fixtures
from tempest.lib import exceptions as lib_exc
from tempest.lib.services.compute import base_compute_client
from tempest.lib.services.compute import keypairs_client

from nova.compute import vm_states
from nova.tests.functional.api import tempest_harness as harness
from nova.tests.functional.api import test_openstack_cli
from nova.tests.functional.api.tempest_harness import ADMIN_TOKEN
from nova.tests.functional.api.tempest_harness import USER_TOKEN
from nova.tests.unit.api import test_keypairs_crypto

# tempest's test_keypair_create_with_pub_key key and its MD5 fingerprint.
TEMPEST_PUB_KEY = test_keypairs_crypto.TEMPEST_KEY
TEMPEST_PUB_KEY_MD5 = test_keypairs_crypto.TEMPEST_KEY_MD5


def ed25519_public_key():
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode()


# -- every call at every microversion where Nova's answer changes ----------
#
# As the tables of test_tempest_schemas (whose coverage check imports this
# one): 2.2 (type, 201/204), 2.10 (user_id), 2.35 (paging), 2.92 (import
# only). Calls outside their range must answer as Nova does.

KEYPAIR_VERSIONS = (None, '2.1', '2.2', '2.10', '2.35', '2.91', '2.92',
                    harness.LATEST)


def _table_name(version):
    return 'table-%s' % (version or 'none').replace('.', '_')


def _import_for_table(test, clients, version):
    test.keypairs[USER_TOKEN].create_keypair(
        name=_table_name(version), public_key=ed25519_public_key())


KEYPAIR_CALLS = [
    harness.call('POST /os-keypairs', _import_for_table, token=USER_TOKEN),
    # Generated keys: refused from 2.92 (400), as Nova does.
    harness.call('POST /os-keypairs (generated)', lambda t, c, v:
                 t.keypairs[USER_TOKEN].create_keypair(
                     name=_table_name(v) + '-gen'),
                 token=USER_TOKEN, last='2.91', gone=400),
    harness.call('GET /os-keypairs', lambda t, c, v:
                 t.keypairs[USER_TOKEN].list_keypairs(), token=USER_TOKEN),
    harness.call('GET /os-keypairs/{keypair_name}', lambda t, c, v:
                 t.keypairs[USER_TOKEN].show_keypair(_table_name(v)),
                 token=USER_TOKEN),
    harness.call('DELETE /os-keypairs/{keypair_name}', lambda t, c, v:
                 t.keypairs[USER_TOKEN].delete_keypair(_table_name(v)),
                 token=USER_TOKEN),
]


class KeyPairsTempestTest(harness.TempestSchemaTestBase):

    COMPUTES = {'compute-a': ['SMALL:ns0|ns1']}

    def setUp(self):
        super().setUp()
        self.keypairs = {}
        for token in (ADMIN_TOKEN, USER_TOKEN):
            provider = harness.NoAuthProvider(self.endpoint, token)
            self.keypairs[token] = keypairs_client.KeyPairsClient(
                provider, 'compute', 'RegionOne')
        # As tempest's ssh_key_type = ecdsa: the client makes the key and
        # imports it (the only way from 2.92).
        self.ecdsa_client = keypairs_client.KeyPairsClient(
            harness.NoAuthProvider(self.endpoint, USER_TOKEN), 'compute',
            'RegionOne', ssh_key_type='ecdsa')
        self.client = self.keypairs[USER_TOKEN]

    def at(self, version):
        """Make the following requests at ``version`` (None: no header)."""
        base_compute_client.COMPUTE_MICROVERSION = version
        self.addCleanup(setattr, base_compute_client,
                        'COMPUTE_MICROVERSION', None)

    def create(self, name, client=None, **kwargs):
        client = client or self.client
        body = client.create_keypair(name=name, **kwargs)['keypair']
        params = ({'user_id': kwargs['user_id']} if 'user_id' in kwargs
                  else {})
        self.addCleanup(self._delete_quietly, client, name, params)
        return body

    def _delete_quietly(self, client, name, params):
        try:
            client.delete_keypair(name, **params)
        except lib_exc.NotFound:
            pass

    def listed(self, client=None, **params):
        client = client or self.client
        return [kp['keypair'] for kp in
                client.list_keypairs(**params)['keypairs']]

    def test_every_call_at_every_microversion(self):
        self.run_table('keypairs', KEYPAIR_VERSIONS, KEYPAIR_CALLS)

    # -- test_keypairs.KeyPairsV2TestJSON (max microversion 2.1) ------------

    def _v2_flows(self, version, prefix, client=None):
        """tempest's v2 tests; ``client`` makes the keys (see ecdsa)."""
        self.at(version)
        # test_keypairs_create_list_delete
        created = []
        for index in range(3):
            keypair = self.create('%s-kp-%d' % (prefix, index),
                                  client=client)
            self.assertIn('PRIVATE KEY', keypair.pop('private_key'))
            keypair.pop('user_id')
            created.append(keypair)
        fetched = self.listed()
        self.assertEqual([], [kp for kp in created if kp not in fetched])
        # test_get_keypair_detail
        detail = self.client.show_keypair(prefix + '-kp-0')['keypair']
        self.assertEqual(prefix + '-kp-0', detail['name'])
        self.assertEqual('user', detail['user_id'])
        # test_keypair_create_with_pub_key
        keypair = self.create(prefix + '-pub', client=client,
                              public_key=TEMPEST_PUB_KEY)
        self.assertNotIn('private_key', keypair)
        self.assertEqual(TEMPEST_PUB_KEY_MD5, keypair['fingerprint'])
        # test_keypair_create_delete (the client checks 202, or 204)
        self.client.delete_keypair(prefix + '-pub')
        self.assertNotIn(prefix + '-pub',
                         [kp['name'] for kp in self.listed()])

    def test_v2_flows_at_2_1(self):
        self._v2_flows(None, 'none')
        self._v2_flows('2.1', 'v2_1')

    # -- test_keypairs_v22.KeyPairsV22TestJSON (2.2 - latest) ---------------

    def _v22_flows(self, version, keypair_type, client=None):
        self.at(version)
        prefix = 'v%s-%s' % (version.replace('.', '_'),
                             keypair_type or 'default')
        kwargs = {'type': keypair_type} if keypair_type else {}
        keypair = self.create(prefix, client=client, **kwargs)
        self.assertEqual(keypair_type or 'ssh', keypair['type'])
        detail = self.client.show_keypair(prefix)['keypair']
        self.assertEqual(keypair_type or 'ssh', detail['type'])
        self.assertEqual(keypair['fingerprint'], detail['fingerprint'])
        entry = {kp['name']: kp for kp in self.listed()}[prefix]
        self.assertEqual(keypair_type or 'ssh', entry['type'])
        # The v2 flows too, at this microversion (201 and 204 checked).
        self._v2_flows(version, prefix, client=client)

    def test_v22_flows(self):
        for version in ('2.2', '2.10', '2.35', '2.91'):
            for keypair_type in (None, 'x509'):
                self._v22_flows(version, keypair_type)

    def test_v22_ssh_flows_from_2_92_import_only(self):
        for version in ('2.92', harness.LATEST):
            self._v22_flows(version, None, client=self.ecdsa_client)
            self._v22_flows(version, 'ssh', client=self.ecdsa_client)
        # Generation is refused there, as Nova does.
        self.assertRaises(lib_exc.BadRequest, self.client.create_keypair,
                          name='generated')
        self.assertRaises(lib_exc.BadRequest, self.client.create_keypair,
                          name='generated', type='x509')
        # Names may hold '.' and '@' from 2.92 (not before).
        keypair = self.create('me@host.example',
                              public_key=ed25519_public_key())
        self.assertEqual('me@host.example', keypair['name'])
        self.client.show_keypair('me@host.example')
        self.at('2.91')
        self.assertRaises(lib_exc.BadRequest, self.client.create_keypair,
                          name='me@host', public_key=TEMPEST_PUB_KEY)

    # -- test_keypairs_negative.KeyPairsNegativeTestJSON --------------------

    def test_negative_flows(self):
        for version in (None, '2.2', harness.LATEST):
            self.at(version)
            tag = (version or 'none').replace('.', '_')
            for pub_key in ('ssh-rsa JUNK nova@ubuntu', ' ',
                            'ssh-rsa ' + 'A' * 2048 + ' openstack@ubuntu'):
                self.assertRaises(lib_exc.BadRequest, self.create,
                                  'bad-' + tag, public_key=pub_key)
            self.assertRaises(lib_exc.NotFound, self.client.delete_keypair,
                              'keypair-non-existent-' + tag)
            self.assertRaises(lib_exc.NotFound, self.client.show_keypair,
                              'keypair-non-existent-' + tag)
            key = ed25519_public_key()
            self.create('dup-' + tag, public_key=key)
            self.assertRaises(lib_exc.Conflict, self.create, 'dup-' + tag,
                              public_key=key)
            for name in ('', 'keypair-'.ljust(260, '0'), r'key_/.\@:'):
                self.assertRaises(lib_exc.BadRequest, self.create, name,
                                  public_key=key)

    def test_quota_per_user(self):
        self.flags(max_keypairs_per_user=2, group='api')
        self.at('2.2')
        self.create('q1', public_key=ed25519_public_key())
        self.create('q2')
        self.assertRaises(lib_exc.Forbidden, self.create, 'q3',
                          public_key=ed25519_public_key())
        # Another user has room of its own; deleting one makes room.
        self.create('q3', client=self.keypairs[ADMIN_TOKEN],
                    public_key=ed25519_public_key())
        self.client.delete_keypair('q1')
        self.create('q3', public_key=ed25519_public_key())

    # -- beyond tempest's tests ---------------------------------------------

    def test_admin_names_the_user_from_2_10(self):
        admin = self.keypairs[ADMIN_TOKEN]
        self.at('2.10')
        keypair = self.create('for-user', client=admin, user_id='user',
                              public_key=ed25519_public_key())
        self.assertEqual('user', keypair['user_id'])
        self.assertEqual(['for-user'], [kp['name'] for kp in self.listed()])
        self.assertEqual([], self.listed(client=admin))
        self.assertEqual(['for-user'], [
            kp['name'] for kp in self.listed(client=admin, user_id='user')])
        self.assertEqual('user', admin.show_keypair(
            'for-user', user_id='user')['keypair']['user_id'])
        # The user may not act for the administrator.
        self.assertRaises(lib_exc.Forbidden, self.client.list_keypairs,
                          user_id='admin')
        self.assertRaises(lib_exc.Forbidden, self.client.create_keypair,
                          name='x', user_id='admin')
        admin.delete_keypair('for-user', user_id='user')
        self.assertEqual([], self.listed())

    def test_paging_from_2_35(self):
        self.at('2.35')
        for name in ('p1', 'p2', 'p3'):
            self.create(name, public_key=ed25519_public_key())
        resp, text = self.client.get('os-keypairs?limit=2')
        body = json.loads(text)
        self.assertEqual(['p1', 'p2'],
                         [kp['keypair']['name'] for kp in body['keypairs']])
        self.assertIn('marker=p2', body['keypairs_links'][0]['href'])
        page = self.listed(limit=2, marker='p2')
        self.assertEqual(['p3'], [kp['name'] for kp in page])
        self.assertRaises(lib_exc.BadRequest, self.client.list_keypairs,
                          marker='nope')

    def test_server_booted_with_a_key_name(self):
        servers = self.clients[USER_TOKEN].servers
        self.at('2.1')
        self.create('boot-key', public_key=TEMPEST_PUB_KEY)
        server = servers.create_server(
            name='with-key', flavorRef=self.flavor.flavorid,
            imageRef=self.image_id, key_name='boot-key')['server']
        self.wait_for_state(server['id'], vm_states.ACTIVE)
        shown = servers.show_server(server['id'])['server']
        self.assertEqual('boot-key', shown['key_name'])
        detail = {s['id']: s for s in
                  servers.list_servers(detail=True)['servers']}
        self.assertEqual('boot-key', detail[server['id']]['key_name'])
        # An unknown key pair, or another user's, is a bad request.
        self.create('admin-key', client=self.keypairs[ADMIN_TOKEN],
                    public_key=TEMPEST_PUB_KEY)
        for name in ('no-such-key', 'admin-key'):
            self.assertRaises(lib_exc.BadRequest, servers.create_server,
                              name='bad', flavorRef=self.flavor.flavorid,
                              imageRef=self.image_id, key_name=name)
        servers.delete_server(server['id'])
        self.wait_for_deleted(server['id'])


class KeyPairsCLITest(test_openstack_cli.CLITestBase):
    """``openstack keypair`` create/list/show/delete, and a server."""

    COMPUTES = {'compute-a': ['SMALL:ns0|ns1']}

    def test_keypair_commands(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        public = os.path.join(tmp, 'id.pub')
        with open(public, 'w') as f:
            f.write(TEMPEST_PUB_KEY + '\n')
        imported = self.openstack_json('keypair', 'create', '--public-key',
                                       public, 'imported')
        self.assertEqual(TEMPEST_PUB_KEY_MD5, imported['fingerprint'])
        # Without a key the CLI makes one (ed25519) and imports it.
        private = os.path.join(tmp, 'made')
        self.openstack('keypair', 'create', '--private-key', private,
                       'made')
        with open(private) as f:
            self.assertIn('PRIVATE KEY', f.read())

        listed = {k['Name']: k for k in self.openstack_json('keypair',
                                                            'list')}
        self.assertEqual({'imported', 'made'}, set(listed))
        self.assertEqual(imported['fingerprint'],
                         listed['imported']['Fingerprint'])
        shown = self.openstack_json('keypair', 'show', 'imported')
        self.assertEqual('imported', shown['name'])
        self.assertEqual(TEMPEST_PUB_KEY, self.openstack(
            'keypair', 'show', '--public-key', 'imported').strip())

        self.create_flavor(name='f-key', memory_mb=16)
        server = self.openstack_json(
            'server', 'create', '--flavor', 'f-key', '--image', 'cirros',
            '--nic', 'none', '--key-name', 'made', '--wait', 'vm-key')
        self.assertEqual('made', server['key_name'])
        stderr = self.openstack(
            'server', 'create', '--flavor', 'f-key', '--image', 'cirros',
            '--nic', 'none', '--key-name', 'no-such-key', 'vm-bad',
            expect_fail=True)
        self.assertIn('key_name', stderr)

        self.openstack('keypair', 'delete', 'imported', 'made')
        self.assertEqual([], self.openstack_json('keypair', 'list'))
        stderr = self.openstack('keypair', 'show', 'imported',
                                expect_fail=True)
        self.assertIn('imported', stderr)
        # The server keeps the name of its (deleted) key pair.
        self.assertEqual('made', self.openstack_json(
            'server', 'show', 'vm-key')['key_name'])

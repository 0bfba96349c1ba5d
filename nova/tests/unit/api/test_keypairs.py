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

"""os-keypairs through the API down to the database, every answer checked
with tempest's schema of its microversion; and key_name on servers."""

import urllib.parse

import webob

from nova.api.handlers import keypair_crypto
from nova.api import policy
from nova.api import wsgi
from nova import context as nova_context
from nova.db import keypair_api
from nova import exception
from nova import objects
from nova import policies
from nova import test
from nova.tests.unit.api import tempest_check
from nova.tests.unit.api import test_keypairs_crypto as fixtures_
from nova.tests.unit.api import test_servers_api
from nova.tests.unit.db import base

KEY = fixtures_.TEMPEST_KEY
KEY_MD5 = fixtures_.TEMPEST_KEY_MD5
ALICE = 'alice:p1'
BOB = 'bob:p1'
ADMIN = 'admin'
SCHEMA_DIRS = [((2, 1), 'v2_1'), ((2, 2), 'v2_2')]


def _version(text):
    major, minor = text.split('.')
    return int(major), int(minor)


class KeyPairDBTestCase(base.DbTestCase):

    def _create(self, name, user_id='u1', limit=None, **values):
        values = dict({'name': name, 'user_id': user_id, 'type': 'ssh',
                       'fingerprint': 'fp', 'public_key': 'pk'}, **values)
        return keypair_api.key_pair_create(self.context, values, limit=limit)

    def test_names_are_per_user(self):
        self._create('k')
        self._create('k', user_id='u2')
        self.assertRaises(keypair_api.KeyPairExists, self._create, 'k')
        self.assertEqual('u2', keypair_api.key_pair_get(
            self.context, 'u2', 'k')['user_id'])

    def test_a_deleted_name_is_free_again(self):
        first = self._create('k')
        keypair_api.key_pair_destroy(self.context, 'u1', 'k')
        self.assertRaises(keypair_api.KeypairNotFound,
                          keypair_api.key_pair_get, self.context, 'u1', 'k')
        self.assertRaises(keypair_api.KeypairNotFound,
                          keypair_api.key_pair_destroy, self.context, 'u1',
                          'k')
        second = self._create('k')
        self.assertNotEqual(first['id'], second['id'])
        # The deleted row stays, marked.
        deleted = keypair_api.key_pair_get(self.deleted_context('only'),
                                           'u1', 'k')
        self.assertEqual(first['id'], deleted['deleted'])
        self.assertIsNotNone(deleted['deleted_at'])

    def test_limit_counts_live_key_pairs_of_the_user(self):
        self._create('a', limit=2)
        self._create('b', limit=2)
        self._create('other', user_id='u2', limit=2)
        error = self.assertRaises(keypair_api.KeypairLimitExceeded,
                                  self._create, 'c', limit=2)
        self.assertEqual(403, error.kwargs['code'])
        keypair_api.key_pair_destroy(self.context, 'u1', 'a')
        self._create('c', limit=2)
        self.assertEqual(2, keypair_api.key_pair_count_by_user(
            self.context, 'u1'))

    def test_pages_oldest_first(self):
        for name in ('b', 'a', 'c'):
            self._create(name)
        names = [kp['name'] for kp in keypair_api.key_pair_get_all_by_user(
            self.context, 'u1')]
        self.assertEqual(['b', 'a', 'c'], names)
        page = keypair_api.key_pair_get_all_by_user(self.context, 'u1',
                                                    limit=1, marker='a')
        self.assertEqual(['c'], [kp['name'] for kp in page])
        self.assertRaises(exception.MarkerNotFound,
                          keypair_api.key_pair_get_all_by_user,
                          self.context, 'u1', marker='nope')

    def test_type_is_ssh_or_x509(self):
        self.assertRaises(exception.Invalid, self._create, 'k', type='pgp')
        self.assertEqual('x509', self._create('k', type='x509')['type'])


class KeyPairsAPITestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.app = wsgi.APIApplication(auth_strategy='noauth2')

    def call(self, path='', method='GET', body=None, token=ALICE,
             version='2.1', query=None):
        url = '/v2.1/os-keypairs' + (
            '/' + urllib.parse.quote(path) if path else '')
        if query:
            url += '?' + urllib.parse.urlencode(query)
        req = webob.Request.blank(url, method=method)
        req.headers.update({'X-Auth-Token': token,
                            'OpenStack-API-Version': 'compute ' + version})
        if body is not None:
            req.json_body = body
        return req.get_response(self.app)

    def valid(self, resp, version, name, status=None):
        """resp's body, after tempest's schema ``name`` of the version."""
        directory = tempest_check.pick(SCHEMA_DIRS, _version(version))
        schema = tempest_check.schema(directory, 'keypairs', name)
        self.assertIn(resp.status_int, schema['status_code'], resp.text)
        tempest_check.validate(self, schema, resp.status_int,
                               resp.json if resp.body else None)
        return resp.json if resp.body else None

    def create(self, version='2.1', token=ALICE, **keypair):
        keypair.setdefault('name', 'k1')
        return self.call('', 'POST', {'keypair': keypair}, token=token,
                         version=version)

    def test_import_list_show_delete_at_2_1(self):
        created = self.valid(self.create(public_key=KEY), '2.1',
                             'create_keypair')['keypair']
        self.assertEqual({'name': 'k1', 'public_key': KEY,
                          'fingerprint': KEY_MD5, 'user_id': 'alice'},
                         created)
        listed = self.valid(self.call(), '2.1', 'list_keypairs')
        self.assertEqual([{'keypair': {'name': 'k1', 'public_key': KEY,
                                       'fingerprint': KEY_MD5}}],
                         listed['keypairs'])
        shown = self.valid(self.call('k1'), '2.1', 'get_keypair')['keypair']
        self.assertEqual((False, None, 'alice'),
                         (shown['deleted'], shown['deleted_at'],
                          shown['user_id']))
        self.assertIsInstance(shown['id'], int)
        self.valid(self.call('k1', 'DELETE'), '2.1', 'delete_keypair')
        self.assertEqual(404, self.call('k1').status_int)

    def test_type_and_status_codes_from_2_2(self):
        for version in ('2.2', '2.10', '2.35', '2.91', '2.92', '2.100'):
            name = 'k' + version.replace('.', '_')
            resp = self.create(version, public_key=KEY, name=name)
            created = self.valid(resp, version, 'create_keypair')['keypair']
            self.assertEqual('ssh', created['type'])
            self.assertNotIn('private_key', created)
            listed = self.valid(self.call(version=version), version,
                                'list_keypairs')
            self.assertEqual({'ssh'}, {kp['keypair']['type']
                                       for kp in listed['keypairs']})
            shown = self.valid(self.call(name, version=version), version,
                               'get_keypair')
            self.assertEqual('ssh', shown['keypair']['type'])
            self.valid(self.call(name, 'DELETE', version=version),
                       version, 'delete_keypair')

    def test_generated_ssh_key(self):
        created = self.valid(self.create('2.2'), '2.2',
                             'create_keypair')['keypair']
        self.assertIn('PRIVATE KEY', created['private_key'])
        self.assertEqual(keypair_crypto.ssh_fingerprint(
            created['public_key']), created['fingerprint'])
        # Shown once: not kept.
        shown = self.call('k1', version='2.2').json['keypair']
        self.assertNotIn('private_key', shown)
        self.assertEqual(created['public_key'], shown['public_key'])

    def test_x509_generated_and_imported(self):
        created = self.valid(self.create('2.2', type='x509'), '2.2',
                             'create_keypair')['keypair']
        self.assertEqual('x509', created['type'])
        self.assertIn('BEGIN CERTIFICATE', created['public_key'])
        imported = self.valid(
            self.create('2.2', type='x509', name='k2',
                        public_key=created['public_key']),
            '2.2', 'create_keypair')['keypair']
        self.assertEqual(created['fingerprint'], imported['fingerprint'])
        self.assertEqual(400, self.create('2.2', type='x509', name='k3',
                                          public_key=KEY).status_int)

    def test_type_refused_before_2_2(self):
        self.assertEqual(400, self.create('2.1', type='ssh').status_int)
        self.assertEqual(400, self.create('2.2', type='pgp').status_int)

    def test_generation_refused_from_2_92(self):
        resp = self.create('2.92')
        self.assertEqual(400, resp.status_int)
        self.assertIn('public_key', resp.json['badRequest']['message'])
        self.assertEqual(201, self.create('2.91').status_int)

    def test_names(self):
        self.assertEqual(400, self.create(name='').status_int)
        self.assertEqual(400, self.create(name='k' * 256).status_int)
        resp = self.create(name=r'key_/.\@:')
        self.assertEqual(400, resp.status_int)
        self.assertIn('Keypair data is invalid',
                      resp.json['badRequest']['message'])
        self.assertEqual(400, self.create('2.91', public_key=KEY,
                                          name='me@host').status_int)
        self.assertEqual(201, self.create('2.92', public_key=KEY,
                                          name='me@host.example')
                         .status_int)
        shown = self.call('me@host.example', version='2.92')
        self.assertEqual(200, shown.status_int)

    def test_invalid_public_keys(self):
        for key in ('ssh-rsa JUNK nova@ubuntu', ' ',
                    'ssh-rsa ' + 'A' * 2048 + ' openstack@ubuntu'):
            resp = self.create(public_key=key)
            self.assertEqual(400, resp.status_int, key)
            self.assertIn('Keypair data is invalid',
                          resp.json['badRequest']['message'])
        self.assertEqual([], self.call().json['keypairs'])

    def test_duplicate_and_unknown(self):
        self.assertEqual(200, self.create(public_key=KEY).status_int)
        resp = self.create(public_key=KEY)
        self.assertEqual(409, resp.status_int)
        self.assertIn('k1', resp.json['conflictingRequest']['message'])
        # Another user may have the same name.
        self.assertEqual(200, self.create(public_key=KEY,
                                          token=BOB).status_int)
        self.assertEqual(404, self.call('nope').status_int)
        self.assertEqual(404, self.call('nope', 'DELETE').status_int)
        self.assertEqual(
            404, self.call('nope', 'DELETE', version='2.2').status_int)

    def test_users_see_their_own_key_pairs(self):
        self.create(public_key=KEY)
        self.assertEqual([], self.call(token=BOB).json['keypairs'])
        self.assertEqual(404, self.call('k1', token=BOB).status_int)

    def test_user_id_for_administrators_from_2_10(self):
        resp = self.create('2.10', token=ADMIN, public_key=KEY,
                           user_id='carol')
        self.assertEqual('carol', resp.json['keypair']['user_id'])
        self.assertEqual(400, self.create('2.9', token=ADMIN,
                                          public_key=KEY,
                                          user_id='carol').status_int)
        query = {'user_id': 'carol'}
        names = [kp['keypair']['name'] for kp in self.call(
            token=ADMIN, version='2.10', query=query).json['keypairs']]
        self.assertEqual(['k1'], names)
        # Before 2.10 the query parameter is ignored, as in Nova.
        self.assertEqual([], self.call(token=ADMIN, version='2.9',
                                       query=query).json['keypairs'])
        self.assertEqual('carol', self.call(
            'k1', token=ADMIN, version='2.10',
            query=query).json['keypair']['user_id'])
        # Others may not act for carol.
        for resp in (self.create('2.10', public_key=KEY, user_id='carol'),
                     self.call(version='2.10', query=query),
                     self.call('k1', version='2.10', query=query),
                     self.call('k1', 'DELETE', version='2.10',
                               query=query)):
            self.assertEqual(403, resp.status_int)
        # Naming oneself is fine.
        self.assertEqual(201, self.create('2.10', public_key=KEY,
                                          user_id='alice').status_int)
        self.assertEqual(204, self.call('k1', 'DELETE', token=ADMIN,
                                        version='2.10',
                                        query=query).status_int)

    def test_paging_from_2_35(self):
        for name in ('a', 'b', 'c'):
            self.create(public_key=KEY, name=name)

        def names(version, **query):
            body = self.call(version=version, query=query).json
            return ([kp['keypair']['name'] for kp in body['keypairs']],
                    body.get('keypairs_links'))

        self.assertEqual((['a', 'b', 'c'], None),
                         names('2.34', limit=1, marker='a'))
        page, links = names('2.35', limit=2)
        self.assertEqual(['a', 'b'], page)
        self.assertEqual('next', links[0]['rel'])
        self.assertIn('marker=b', links[0]['href'])
        self.assertEqual((['c'], None), names('2.35', limit=2, marker='b'))
        self.assertEqual(([], None), names('2.35', limit=0))
        self.assertEqual(400, self.call(version='2.35',
                                        query={'marker': 'x'}).status_int)
        self.assertEqual(400, self.call(version='2.35',
                                        query={'limit': '-1'}).status_int)

    def test_limit_per_user(self):
        self.conf.set_override('max_keypairs_per_user', 1, group='api')
        self.assertEqual(200, self.create(public_key=KEY).status_int)
        resp = self.create(public_key=KEY, name='k2')
        self.assertEqual(403, resp.status_int)
        self.assertIn('Quota exceeded', resp.json['forbidden']['message'])
        # Generated keys count the same; other users have their own.
        self.assertEqual(403, self.create(name='k3').status_int)
        self.assertEqual(200, self.create(token=BOB).status_int)

    def test_bad_bodies(self):
        for body in ({}, {'keypair': {}}, {'keypair': {'name': 'k',
                                                       'x': 1}},
                     {'keypair': {'name': 'k', 'public_key': 5}}):
            self.assertEqual(400, self.call('', 'POST', body).status_int,
                             body)


class ServerKeyNameTestCase(test_servers_api.CreateTestBase):
    """POST /servers with key_name; the views show it."""

    def _post(self, version, **server):
        server = dict({'name': 'new', 'flavorRef': 'f1',
                       'imageRef': 'cirros'}, **server)
        return self.request('/servers', 'POST', {'server': server},
                            version=version)

    def _keypair(self, user_id, name='mykey'):
        objects.KeyPair(self.context, name=name, user_id=user_id,
                        public_key=KEY, fingerprint=KEY_MD5).create()

    def test_key_name_is_kept_and_shown(self):
        self._keypair('alice')
        resp = self._post('2.1', key_name='mykey')
        self.assertEqual(202, resp.status_int, resp.text)
        uuid = resp.json['server']['id']
        self.assertEqual('mykey', objects.Instance.get_by_uuid(
            self.context, uuid).key_name)
        shown = self.request('/servers/%s' % uuid).json['server']
        self.assertEqual('mykey', shown['key_name'])
        detail = self.request('/servers/detail').json['servers']
        self.assertEqual('mykey', {s['id']: s for s in detail}[uuid]
                         ['key_name'])
        # The server keeps the name once the key pair is gone.
        objects.KeyPair.destroy_by_name(self.context, 'alice', 'mykey')
        shown = self.request('/servers/%s' % uuid).json['server']
        self.assertEqual('mykey', shown['key_name'])

    def test_without_key_name_it_is_null(self):
        resp = self._post('2.1')
        shown = self.request('/servers/%s' % resp.json['server']['id'])
        self.assertIsNone(shown.json['server']['key_name'])

    def test_unknown_or_others_key_name_is_refused(self):
        self._keypair('bob')
        for name in ('nope', 'mykey'):
            resp = self._post('2.1', key_name=name)
            self.assertEqual(400, resp.status_int)
            self.assertIn('Invalid key_name',
                          resp.json['badRequest']['message'])
        self.compute.create.assert_not_called()
        self.assertEqual(400, self._post('2.1', key_name='').status_int)


class KeyPairPolicyDefaultsTestCase(test.NoDBTestCase):

    def test_owner_or_admin_in_a_project(self):
        rules = {rule.name: rule for rule in policies.list_rules()}
        for action in ('index', 'create', 'show', 'delete'):
            rule = rules['os_compute_api:os-keypairs:' + action]
            self.assertEqual('(rule:admin_api) or user_id:%(user_id)s',
                             rule.check_str)
            self.assertEqual(['project'], rule.scope_types)

    def test_the_rule_compares_the_named_user(self):
        self.addCleanup(policy.reset)
        policy.reset()
        alice = nova_context.RequestContext('alice', 'p1')
        admin = nova_context.RequestContext('root', 'p1', roles=['admin'])
        rule = 'os_compute_api:os-keypairs:index'
        self.assertTrue(policy.authorize(alice, rule, {'user_id': 'alice'}))
        self.assertFalse(policy.authorize(alice, rule, {'user_id': 'bob'}))
        self.assertTrue(policy.authorize(admin, rule, {'user_id': 'bob'}))

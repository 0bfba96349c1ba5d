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

"""Tests of Keystone in the multinode deployment without Keystone: the
configuration each service gets, keystone-manage's and gunicorn's argv,
and the registration against an in-memory stand-in for Keystone's v3
API (find-or-create, so a second run changes nothing)."""

import configparser
import io
import os

import fixtures

from nova import test
from nova.tests.multinode import deployment
from nova.tests.multinode import keystone as ks
from nova.tests.multinode import libvirt_hosts
from nova.tests.multinode import network

AUTH_URL = 'http://10.77.0.1:5000/v3'


def _read_ini(path):
    parser = configparser.ConfigParser(interpolation=None)
    with open(path) as f:
        parser.read_file(f)
    return parser


class _Response:

    def __init__(self, status_code, body):
        self.status_code = status_code
        self.body = body
        self.content = b'x' if body is not None else b''
        self.text = str(body)

    def json(self):
        return self.body


class FakeIdentity:
    """The v3 collections register() uses, kept in dictionaries."""

    def __init__(self):
        self.rows = {'domains': [{'id': 'default', 'name': 'Default'}],
                     'roles': [{'id': 'r-%s' % name, 'name': name}
                               for name in ('admin', 'member', 'reader',
                                            'service')],
                     'projects': [], 'users': [], 'services': [],
                     'endpoints': []}
        self.grants = set()
        self.posts = 0

    def request(self, url, method, raise_exc=True, params=None, json=None):
        path = url[len(AUTH_URL):].strip('/').split('/')
        if method == 'PUT':
            # /projects/P/users/U/roles/R
            self.grants.add((path[1], path[3], path[5]))
            return _Response(204, None)
        collection = path[0]
        if method == 'GET':
            found = [row for row in self.rows[collection]
                     if all(row.get(k) == v for k, v in params.items())]
            return _Response(200, {collection: found})
        self.posts += 1
        row = dict(json[collection[:-1]], id='%s-%d' % (collection,
                                                       self.posts))
        self.rows[collection].append(row)
        return _Response(201, {collection[:-1]: row})


class ConfigTest(test.NoDBTestCase):

    def test_keystone_conf(self):
        sections = ks.keystone_sections('/d/keystone', '/d/log/ks.log')
        self.assertEqual('sqlite:////d/keystone/keystone.db',
                         sections['database']['connection'])
        self.assertEqual('fernet', sections['token']['provider'])
        self.assertEqual('/d/keystone/fernet-keys',
                         sections['fernet_tokens']['key_repository'])
        self.assertEqual('/d/keystone/credential-keys',
                         sections['credential']['key_repository'])

    def test_catalog_serves_images_from_the_compute_endpoint(self):
        services = ks.catalog('http://a:8774/v2.1', 'http://a:8778')
        self.assertEqual({'compute', 'placement', 'image'}, set(services))
        self.assertEqual('http://a:8774/v2.1', services['image'][1])

    def test_cli_env(self):
        env = ks.cli_env(AUTH_URL, 'pw', 'nmn-reader', 'nmn-demo')
        self.assertEqual('password', env['OS_AUTH_TYPE'])
        self.assertEqual(('nmn-reader', 'nmn-demo', 'RegionOne', '2.latest'),
                         (env['OS_USERNAME'], env['OS_PROJECT_NAME'],
                          env['OS_REGION_NAME'],
                          env['OS_COMPUTE_API_VERSION']))
        self.assertNotIn('OS_ENDPOINT', env)


class KeystoneProcessTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.keystone = ks.Keystone('/d/keystone', '/venv/bin',
                                    ('127.0.0.1', '10.77.0.1'), 'pw',
                                    '/d/log')

    def test_bootstrap_commands(self):
        commands = self.keystone.manage_commands()
        self.assertEqual(['db_sync', 'fernet_setup', 'credential_setup',
                          'bootstrap'], [argv[3] for argv in commands])
        self.assertEqual('/venv/bin/keystone-manage', commands[0][0])
        boot = commands[-1]
        for interface in ks.INTERFACES:
            flag = boot.index('--bootstrap-%s-url' % interface)
            self.assertEqual(AUTH_URL + '/', boot[flag + 1])
        self.assertEqual('RegionOne',
                         boot[boot.index('--bootstrap-region-id') + 1])

    def test_one_gunicorn_worker_through_the_shim(self):
        argv, env = self.keystone.spec()
        # SQLite: one request at a time.
        self.assertEqual('1', argv[argv.index('--workers') + 1])
        self.assertEqual('1', argv[argv.index('--threads') + 1])
        self.assertEqual('%s:application' % ks.SHIM_MODULE, argv[-1])
        self.assertEqual('/d/keystone', argv[argv.index('--pythonpath') + 1])
        self.assertEqual(['127.0.0.1:5000', '10.77.0.1:5000'],
                         [argv[i + 1] for i, arg in enumerate(argv)
                          if arg == '--bind'])
        self.assertEqual({'OS_KEYSTONE_CONFIG_DIR': '/d/keystone/etc'}, env)

    def test_shim_hides_gunicorns_arguments(self):
        self.assertIn('sys.argv = sys.argv[:1]', ks.SHIM)
        self.assertLess(ks.SHIM.index('sys.argv ='),
                        ks.SHIM.index('from keystone'))


class RegisterTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.identity = FakeIdentity()
        self.keystone = ks.Keystone('/d/keystone', '/venv/bin',
                                    ('10.77.0.1',), 'pw', '/d/log')
        self.useFixture(fixtures.MockPatchObject(
            self.keystone, 'session', return_value=self.identity))
        self.services = ks.catalog('http://10.77.0.1:8774/v2.1',
                                   'http://10.77.0.1:8778')

    def _id(self, collection, **match):
        rows = [row for row in self.identity.rows[collection]
                if all(row[k] == v for k, v in match.items())]
        self.assertEqual(1, len(rows), (collection, match))
        return rows[0]['id']

    def test_users_roles_catalog_and_personas(self):
        ks.register(self.keystone, self.services)
        service = self._id('projects', name='service')
        demo = self._id('projects', name='nmn-demo')
        for user in ('nova', 'placement'):
            for role in ('admin', 'service'):
                self.assertIn((service, self._id('users', name=user),
                               'r-%s' % role), self.identity.grants)
        self.assertIn((demo, self._id('users', name='nmn-member'),
                       'r-member'), self.identity.grants)
        self.assertIn((demo, self._id('users', name='nmn-reader'),
                       'r-reader'), self.identity.grants)
        other = self._id('projects', name='nmn-other')
        self.assertIn((other, self._id('users', name='nmn-other'),
                       'r-member'), self.identity.grants)
        self.assertNotIn(other, {g[0] for g in self.identity.grants
                                 if g[1] != self._id('users',
                                                     name='nmn-other')})
        # The reader has no other role anywhere.
        reader = self._id('users', name='nmn-reader')
        self.assertEqual({'r-reader'}, {g[2] for g in self.identity.grants
                                        if g[1] == reader})
        image = self._id('services', type='image')
        urls = {(e['interface'], e['url'], e['region_id'])
                for e in self.identity.rows['endpoints']
                if e['service_id'] == image}
        self.assertEqual({(i, 'http://10.77.0.1:8774/v2.1', 'RegionOne')
                          for i in ks.INTERFACES}, urls)
        self.assertEqual(9, len(self.identity.rows['endpoints']))

    def test_a_second_run_creates_nothing(self):
        ks.register(self.keystone, self.services)
        posts = self.identity.posts
        ks.register(self.keystone, self.services)
        self.assertEqual(posts, self.identity.posts)

    def test_an_error_names_the_call(self):
        self.identity.request = lambda *a, **k: _Response(403, 'denied')
        error = self.assertRaises(ks.KeystoneError, ks.register,
                                  self.keystone, self.services)
        self.assertIn('GET /domains: 403', str(error))


class DeploymentWithKeystoneTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        self.deployment = deployment.Deployment(
            self.base, bin_dir='/venv/bin', out=io.StringIO(),
            auth='keystone')
        self.deployment.settings = {
            'password': 'pw', 'auth': 'keystone',
            'transport_url': 'rabbit://nova:pw@10.77.0.1:5672/nova',
            'nova_db': 'mysql+pymysql://nova:pw@10.77.0.1:3306/nova',
            'placement_db': 'mysql+pymysql://placement:pw@10.77.0.1:3306/'
                            'placement'}
        hosts = {index: libvirt_hosts.NamespaceHost(
            name='compute-%d' % index,
            base_dir=os.path.join(self.base, 'hosts', 'compute-%d' % index),
            host_uuid='uuid-%d' % index, migration_ports=(49152, 49167),
            link=network.ComputeLink(index)) for index in (1, 2)}
        self.deployment.write_configs(hosts)

    def _conf(self, *name):
        return _read_ini(os.path.join(self.base, 'etc', *name))

    def test_api_and_placement_check_tokens(self):
        for conf, user in ((self._conf('nova-api.conf'), 'nova'),
                           (self._conf('placement', 'placement.conf'),
                            'placement')):
            self.assertEqual('keystone', conf['api']['auth_strategy'])
            authtoken = conf['keystone_authtoken']
            self.assertEqual((AUTH_URL, AUTH_URL, 'password', user, 'pw',
                              'service'),
                             (authtoken['auth_url'],
                              authtoken['www_authenticate_uri'],
                              authtoken['auth_type'], authtoken['username'],
                              authtoken['password'],
                              authtoken['project_name']))

    def test_services_find_placement_in_the_catalog(self):
        for name in ('nova-conductor.conf', 'nova-compute-1.conf',
                     'nova-api.conf'):
            placement = self._conf(name)['placement']
            self.assertEqual(('password', AUTH_URL, 'nova', 'RegionOne'),
                             (placement['auth_type'],
                              placement['auth_url'], placement['username'],
                              placement['region_name']))
            # No fixed endpoint or token: the catalog's, a real token.
            self.assertNotIn('endpoint', placement)
            self.assertNotIn('token', placement)

    def test_env_of_the_admin_and_a_persona(self):
        env = self.deployment.env()
        self.assertEqual(('admin', 'admin', AUTH_URL, 'pw'),
                         (env['OS_USERNAME'], env['OS_PROJECT_NAME'],
                          env['OS_AUTH_URL'], env['OS_PASSWORD']))
        env = self.deployment.env('nmn-member')
        self.assertEqual(('nmn-member', 'nmn-demo'),
                         (env['OS_USERNAME'], env['OS_PROJECT_NAME']))

    def test_keystone_is_a_service_of_the_deployment(self):
        argv, env = self.deployment.specs()['keystone']
        self.assertEqual('/venv/bin/gunicorn', argv[0])
        self.assertEqual(os.path.join(self.base, 'keystone', 'etc'),
                         env['OS_KEYSTONE_CONFIG_DIR'])

    def test_noauth2_has_no_keystone(self):
        plain = deployment.Deployment(self.base, out=io.StringIO())
        self.assertIsNone(plain.keystone)
        self.assertNotIn('keystone', plain.specs())
        self.assertEqual('admin', plain.token())

    def test_load_keeps_the_auth(self):
        self.deployment.settings.update(db='mariadb', port_offset=0,
                                        computes=2)
        self.deployment._save_settings()
        loaded = deployment.Deployment.load(self.base, out=io.StringIO())
        self.assertEqual('keystone', loaded.auth)

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

"""The application: auth, error shapes, headers and the policy matrix."""

import datetime
import json
from unittest import mock

import fixtures
from keystonemiddleware.auth_token import _opts as auth_token_opts
import webob

import nova.conf

from nova.api.handlers import servers
from nova.api import http
from nova.api import routes
from nova.api import wsgi
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova import test

UUID = '6f1f4f52-8d8d-4c8e-9c1d-2a3b4c5d6e7f'


def _instance(project_id='owner', **kwargs):
    values = dict(uuid=UUID, display_name='vm1', project_id=project_id,
                  user_id='u', vm_state=vm_states.ACTIVE, task_state=None,
                  power_state=1, host='compute-a', node='compute-a',
                  image_ref=None, launched_at=None, terminated_at=None,
                  created_at=datetime.datetime(2025, 1, 1),
                  updated_at=None, fault=None,
                  flavor=objects.Flavor(name='f1', vcpus=1, memory_mb=16,
                                        root_gb=0, ephemeral_gb=0, swap=0,
                                        extra_specs={}))
    values.update(kwargs)
    return objects.Instance(**values)


class APITestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='noauth2')
        self.compute = mock.Mock()
        self.useFixture_patch('nova.api.handlers.servers.compute',
                              return_value=self.compute)
        self.instance = _instance()
        self.useFixture_patch('nova.objects.Instance.get_by_uuid',
                              return_value=self.instance)

    def useFixture_patch(self, target, **kwargs):
        patcher = mock.patch(target, **kwargs)
        patcher.start()
        self.addCleanup(patcher.stop)

    def request(self, path, method='GET', body=None, token='admin',
                version='2.30'):
        req = webob.Request.blank(path, method=method)
        if token:
            req.headers['X-Auth-Token'] = token
        if version:
            req.headers['OpenStack-API-Version'] = 'compute ' + version
            req.headers['X-OpenStack-Nova-API-Version'] = version
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        return req.get_response(self.app)


class TestFramework(APITestCase):

    def test_headers_echo_version_and_request_id(self):
        resp = self.request('/v2.1/servers/%s' % UUID)
        self.assertEqual(200, resp.status_int)
        self.assertEqual('compute 2.30',
                         resp.headers['OpenStack-API-Version'])
        self.assertEqual('2.30', resp.headers['X-OpenStack-Nova-API-Version'])
        self.assertTrue(resp.headers['x-openstack-request-id']
                        .startswith('req-'))

    def test_unsupported_version_is_406(self):
        resp = self.request('/v2.1/servers/%s' % UUID, version='2.101')
        self.assertEqual(406, resp.status_int)
        self.assertEqual(406, resp.json['notAcceptable']['code'])

    def test_no_token_is_401(self):
        resp = self.request('/v2.1/servers', token=None)
        self.assertEqual(401, resp.status_int)

    def test_discovery_needs_no_token(self):
        resp = self.request('/v2.1/', token=None, version=None)
        self.assertEqual(200, resp.status_int)
        self.assertEqual('2.100', resp.json['version']['version'])

    def test_not_found_shape(self):
        objects.Instance.get_by_uuid.side_effect = (
            exception.InstanceNotFound(instance_id=UUID))
        resp = self.request('/v2.1/servers/%s' % UUID)
        self.assertEqual(404, resp.status_int)
        self.assertIn(UUID, resp.json['itemNotFound']['message'])

    def test_bad_body_shape(self):
        resp = self.request('/v2.1/servers/%s/action' % UUID, 'POST',
                            {'os-migrateLive': {'host': 1}})
        self.assertEqual(400, resp.status_int)
        self.assertEqual(400, resp.json['badRequest']['code'])

    def test_unexpected_error_is_compute_fault(self):
        objects.Instance.get_by_uuid.side_effect = RuntimeError('boom')
        resp = self.request('/v2.1/servers/%s' % UUID)
        self.assertEqual(500, resp.status_int)
        self.assertNotIn('boom', resp.json['computeFault']['message'])

    def test_method_not_allowed(self):
        resp = self.request('/v2.1/os-migrations', 'POST', {})
        self.assertEqual(405, resp.status_int)

    def test_status_mapping(self):
        for vm_state, task_state, status in (
                ('active', 'migrating', 'MIGRATING'),
                ('building', 'scheduling', 'BUILD'),
                ('error', None, 'ERROR'), ('active', None, 'ACTIVE')):
            self.assertEqual(status, servers.status_of(_instance(
                vm_state=vm_state, task_state=task_state)))


class TestVersionHeaders(APITestCase):

    def _status(self, **headers):
        req = webob.Request.blank('/v2.1/servers/%s' % UUID)
        req.headers['X-Auth-Token'] = 'admin'
        req.headers.update(headers)
        resp = req.get_response(self.app)
        return resp.status_int, resp.json

    def test_malformed_version_is_400(self):
        status, body = self._status(
            **{'OpenStack-API-Version': 'compute 2.abc'})
        self.assertEqual(400, status)
        self.assertIn('2.abc', body['badRequest']['message'])
        status, _body = self._status(
            **{'X-OpenStack-Nova-API-Version': '2.01'})
        self.assertEqual(400, status)

    def test_out_of_range_is_406(self):
        status, body = self._status(
            **{'OpenStack-API-Version': 'compute 2.999'})
        self.assertEqual(406, status)
        self.assertIn('2.100', body['notAcceptable']['message'])

    def test_latest_and_both_headers(self):
        req = webob.Request.blank('/v2.1/servers/%s' % UUID)
        req.headers.update({'X-Auth-Token': 'admin',
                            'OpenStack-API-Version': 'compute latest',
                            'X-OpenStack-Nova-API-Version': '2.5'})
        resp = req.get_response(self.app)
        self.assertEqual(200, resp.status_int)
        self.assertEqual('compute 2.100',
                         resp.headers['OpenStack-API-Version'])


class TestNoAuth(test.NoDBTestCase):

    def _context(self, token):
        req = webob.Request.blank('/')
        req.environ['nova.request_id'] = 'req-x'
        req.headers['X-Auth-Token'] = token
        return wsgi.noauth_context(req)

    def test_user_project(self):
        ctxt = self._context('alice:proj')
        self.assertEqual(('alice', 'proj', False),
                         (ctxt.user_id, ctxt.project_id, ctxt.is_admin))

    def test_admin_user(self):
        self.assertTrue(self._context('admin:proj').is_admin)
        self.assertTrue(self._context('admin').is_admin)

    def test_cli_without_auth_is_admin(self):
        ctxt = self._context('notused')
        self.assertTrue(ctxt.is_admin)
        self.assertEqual('notused', ctxt.project_id)

    def test_plain_token(self):
        ctxt = self._context('bob')
        self.assertEqual(('bob', 'bob', False),
                         (ctxt.user_id, ctxt.project_id, ctxt.is_admin))


class TestPolicyMatrix(APITestCase):
    """admin / owner / other project, for each kind of action."""

    ADMIN, OWNER, OTHER = 'admin:adminproj', 'alice:owner', 'eve:other'
    LIVE = {'os-migrateLive': {'host': None, 'block_migration': 'auto'}}

    def _status(self, token, *args, **kwargs):
        return self.request(*args, token=token, **kwargs).status_int

    def test_show_server(self):
        path = '/v2.1/servers/%s' % UUID
        self.assertEqual(200, self._status(self.ADMIN, path))
        self.assertEqual(200, self._status(self.OWNER, path))
        # Another project's server does not exist for the caller.
        self.assertEqual(404, self._status(self.OTHER, path))

    def test_host_hidden_from_owner(self):
        body = self.request('/v2.1/servers/%s' % UUID,
                            token=self.OWNER).json['server']
        self.assertNotIn('OS-EXT-SRV-ATTR:host', body)
        body = self.request('/v2.1/servers/%s' % UUID,
                            token=self.ADMIN).json['server']
        self.assertEqual('compute-a', body['OS-EXT-SRV-ATTR:host'])

    def test_delete_server(self):
        path = '/v2.1/servers/%s' % UUID
        self.assertEqual(404, self._status(self.OTHER, path, 'DELETE'))
        self.assertEqual(204, self._status(self.OWNER, path, 'DELETE'))
        self.assertEqual(204, self._status(self.ADMIN, path, 'DELETE'))

    def test_live_migrate(self):
        path = '/v2.1/servers/%s/action' % UUID
        self.assertEqual(404, self._status(self.OTHER, path, 'POST',
                                           self.LIVE))
        self.assertEqual(403, self._status(self.OWNER, path, 'POST',
                                           self.LIVE))
        self.compute.live_migrate.assert_not_called()
        self.assertEqual(202, self._status(self.ADMIN, path, 'POST',
                                           self.LIVE))
        # 2.30 is below the microversion of the asynchronous call.
        self.compute.live_migrate.assert_called_once_with(
            mock.ANY, self.instance, host_name=None, force=False,
            block_migration=False, async_=False)

    def test_admin_only_listings(self):
        for path in ('/v2.1/os-migrations', '/v2.1/os-services',
                     '/v2.1/os-hypervisors',
                     '/v2.1/servers/%s/migrations' % UUID):
            self.assertEqual(403, self._status(self.OWNER, path), path)

    def test_abort_and_force_complete_admin_only(self):
        path = '/v2.1/servers/%s/migrations/3' % UUID
        self.assertEqual(403, self._status(self.OWNER, path, 'DELETE'))
        self.assertEqual(403, self._status(self.OWNER, path + '/action',
                                           'POST', {'force_complete': None}))
        self.assertEqual(202, self._status(self.ADMIN, path, 'DELETE'))
        self.compute.live_migrate_abort.assert_called_once_with(
            mock.ANY, self.instance, 3)


class TestLiveMigrateErrors(APITestCase):

    PATH = '/v2.1/servers/%s/action' % UUID
    BODY = {'os-migrateLive': {'host': 'b', 'block_migration': 'auto'}}

    def _error(self, exc):
        self.compute.live_migrate.side_effect = exc
        return self.request(self.PATH, 'POST', self.BODY)

    def test_precheck_refusal_is_400_with_reason(self):
        resp = self._error(exception.MigrationPreCheckError(
            reason='destination compute-b is too old'))
        self.assertEqual(400, resp.status_int)
        self.assertIn('too old', resp.json['badRequest']['message'])

    def test_unknown_host_is_400(self):
        # Nova (and tempest's test_invalid_host_for_migration): a bad
        # request, not a missing resource.
        resp = self._error(exception.ComputeHostNotFound(host='b'))
        self.assertEqual(400, resp.status_int)
        self.assertIn('badRequest', resp.json)

    def test_busy_is_409(self):
        resp = self._error(exception.InstanceInvalidState(
            instance_uuid=UUID, attr='task_state', state='migrating',
            method='live migrate'))
        self.assertEqual(409, resp.status_int)
        self.assertIn('conflictingRequest', resp.json)

    def test_force_with_2_68_is_400(self):
        body = {'os-migrateLive': {'host': 'b', 'block_migration': 'auto',
                                   'force': True}}
        resp = self.request(self.PATH, 'POST', body, version='2.68')
        self.assertEqual(400, resp.status_int)
        self.compute.live_migrate.assert_not_called()

    def test_unknown_server_is_404(self):
        objects.Instance.get_by_uuid.side_effect = (
            exception.InstanceNotFound(instance_id=UUID))
        resp = self.request(self.PATH, 'POST', self.BODY)
        self.assertEqual(404, resp.status_int)
        self.assertEqual(
            {'code': 404,
             'message': 'Instance %s could not be found.' % UUID},
            resp.json['itemNotFound'])
        self.compute.live_migrate.assert_not_called()


class TestColdMigrate(APITestCase):

    PATH = '/v2.1/servers/%s/action' % UUID

    def test_without_host(self):
        resp = self.request(self.PATH, 'POST', {'migrate': None})
        self.assertEqual(202, resp.status_int)
        self.compute.migrate.assert_called_once_with(
            mock.ANY, self.instance, host_name=None, image_meta=None)

    def test_host_needs_2_56(self):
        body = {'migrate': {'host': 'compute-b'}}
        resp = self.request(self.PATH, 'POST', body, version='2.55')
        self.assertEqual(400, resp.status_int)
        self.compute.migrate.assert_not_called()
        resp = self.request(self.PATH, 'POST', body, version='2.56')
        self.assertEqual(202, resp.status_int)
        self.compute.migrate.assert_called_once_with(
            mock.ANY, self.instance, host_name='compute-b', image_meta=None)

    def test_unknown_argument_is_400(self):
        resp = self.request(self.PATH, 'POST',
                            {'migrate': {'host': 'b', 'force': True}},
                            version='2.56')
        self.assertEqual(400, resp.status_int)
        self.compute.migrate.assert_not_called()

    def test_image_properties_go_to_the_destination(self):
        self.instance.image_ref = 'cirros'
        with mock.patch('nova.api.handlers.images.find',
                        return_value={'properties': {'kernel': '/k'}}):
            resp = self.request(self.PATH, 'POST', {'migrate': None})
        self.assertEqual(202, resp.status_int)
        self.compute.migrate.assert_called_once_with(
            mock.ANY, self.instance, host_name=None,
            image_meta={'kernel': '/k'})

    def test_unknown_server_is_404(self):
        objects.Instance.get_by_uuid.side_effect = (
            exception.InstanceNotFound(instance_id=UUID))
        resp = self.request(self.PATH, 'POST', {'migrate': None})
        self.assertEqual(404, resp.status_int)
        self.assertEqual(
            {'code': 404,
             'message': 'Instance %s could not be found.' % UUID},
            resp.json['itemNotFound'])
        self.compute.migrate.assert_not_called()

    def test_refusal_is_400_with_reason(self):
        self.compute.migrate.side_effect = exception.NoValidHost(
            reason='compute-b: not enough free CUSTOM_PMEM_NAMESPACE_SMALL')
        resp = self.request(self.PATH, 'POST', {'migrate': None})
        self.assertEqual(400, resp.status_int)
        self.assertIn('CUSTOM_PMEM_NAMESPACE_SMALL',
                      resp.json['badRequest']['message'])

    def test_policy(self):
        owner, other = 'alice:owner', 'eve:other'
        self.assertEqual(403, self.request(self.PATH, 'POST',
                                           {'migrate': None},
                                           token=owner).status_int)
        self.assertEqual(404, self.request(self.PATH, 'POST',
                                           {'migrate': None},
                                           token=other).status_int)
        self.compute.migrate.assert_not_called()

    def test_confirm_and_revert_by_owner(self):
        owner = 'alice:owner'
        resp = self.request(self.PATH, 'POST', {'confirmResize': None},
                            token=owner)
        self.assertEqual(204, resp.status_int)
        self.compute.confirm_resize.assert_called_once_with(
            mock.ANY, self.instance)
        resp = self.request(self.PATH, 'POST', {'revertResize': None},
                            token=owner)
        self.assertEqual(202, resp.status_int)
        self.compute.revert_resize.assert_called_once_with(
            mock.ANY, self.instance)
        resp = self.request(self.PATH, 'POST', {'revertResize': None},
                            token='eve:other')
        self.assertEqual(404, resp.status_int)

    def test_confirm_without_finished_migration_is_400(self):
        self.compute.confirm_resize.side_effect = (
            exception.MigrationNotFoundByStatus(instance_id=UUID,
                                                status='finished'))
        resp = self.request(self.PATH, 'POST', {'confirmResize': None})
        self.assertEqual(400, resp.status_int)

    def test_confirm_when_not_verify_resize_is_409(self):
        self.compute.confirm_resize.side_effect = (
            exception.InstanceInvalidState(
                instance_uuid=UUID, attr='vm_state', state='active',
                method='confirm resize'))
        resp = self.request(self.PATH, 'POST', {'confirmResize': None})
        self.assertEqual(409, resp.status_int)

    def test_statuses(self):
        from nova.compute import task_states
        cases = [
            (vm_states.ACTIVE, task_states.RESIZE_PREP, 'RESIZE'),
            (vm_states.ACTIVE, task_states.RESIZE_MIGRATING, 'RESIZE'),
            (vm_states.RESIZED, None, 'VERIFY_RESIZE'),
            (vm_states.RESIZED, task_states.RESIZE_CONFIRMING,
             'VERIFY_RESIZE'),
            (vm_states.RESIZED, task_states.RESIZE_REVERTING,
             'REVERT_RESIZE'),
        ]
        for vm_state, task_state, status in cases:
            self.assertEqual(status, servers.status_of(_instance(
                vm_state=vm_state, task_state=task_state)))


class FlavorAPITestCase(APITestCase):
    """One flavor f1 behind the API; extra spec writes land in saved."""

    def setUp(self):
        super().setUp()
        self.flavor = objects.Flavor(id=1, flavorid='f1', name='f1',
                                     memory_mb=16, vcpus=1, root_gb=0,
                                     ephemeral_gb=0, swap=0, disabled=False,
                                     is_public=True, description=None,
                                     extra_specs={})
        self.useFixture_patch('nova.objects.Flavor.get_by_flavor_id',
                              return_value=self.flavor)
        self.saved = []
        self.useFixture_patch(
            'nova.objects.Flavor.save_extra_specs',
            side_effect=lambda **kw: self.saved.append(kw))


class TestFlavorsAndImages(FlavorAPITestCase):

    def test_bad_pmem_spec_is_400(self):
        resp = self.request('/v2.1/flavors/f1/os-extra_specs', 'POST',
                            {'extra_specs': {'hw:pmem': ''}})
        self.assertEqual(400, resp.status_int)
        self.assertIn('hw:pmem', resp.json['badRequest']['message'])
        self.assertEqual([], self.saved)

    def test_good_pmem_spec(self):
        resp = self.request('/v2.1/flavors/f1/os-extra_specs', 'POST',
                            {'extra_specs': {'hw:pmem': 'SMALL,SMALL'}})
        self.assertEqual(200, resp.status_int)
        self.assertEqual([{'to_add': {'hw:pmem': 'SMALL,SMALL'}}],
                         self.saved)

    def test_extra_specs_need_admin(self):
        resp = self.request('/v2.1/flavors/f1/os-extra_specs/hw:pmem', 'PUT',
                            {'hw:pmem': 'SMALL'}, token='alice:p')
        self.assertEqual(403, resp.status_int)

    def test_image_is_glance_shaped(self):
        req = webob.Request.blank('/v2.1/images/155d900f-4e14-4e4c-a73d-'
                                  '069cbf4541e6')
        req.headers.update({'X-Auth-Token': 'notused',
                            'User-Agent': 'openstacksdk/4.22.0'})
        resp = req.get_response(self.app)
        self.assertEqual(200, resp.status_int)
        self.assertEqual(('cirros', 'active'),
                         (resp.json['name'], resp.json['status']))
        self.assertEqual(404, self.request('/v2.1/images/nope').status_int)


class TestKeystoneStrategy(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.flags(auth_strategy='keystone', group='api')
        # No Keystone is asked: a request without a token is refused by
        # auth_token itself, which names where to authenticate.
        nova.conf.CONF.register_opts(auth_token_opts._OPTS,
                                     group='keystone_authtoken')
        self.flags(www_authenticate_uri='http://keystone.example/v3',
                   group='keystone_authtoken')
        self.app = wsgi.make_app()

    def test_discovery_skips_auth_token(self):
        resp = webob.Request.blank('/v2.1').get_response(self.app)
        self.assertEqual(200, resp.status_int)

    def test_resources_need_a_valid_token(self):
        resp = webob.Request.blank('/v2.1/servers').get_response(self.app)
        self.assertEqual(401, resp.status_int)

    def test_identity_from_auth_token_headers(self):
        req = webob.Request.blank('/')
        req.environ['nova.request_id'] = 'req-x'
        req.headers.update({'X-Identity-Status': 'Confirmed',
                            'X-User-Id': 'u', 'X-Project-Id': 'p',
                            'X-Roles': 'reader, admin'})
        ctxt = wsgi.keystone_context(req)
        self.assertEqual(('u', 'p', True),
                         (ctxt.user_id, ctxt.project_id, ctxt.is_admin))
        req.headers['X-Roles'] = 'member'
        self.assertFalse(wsgi.keystone_context(req).is_admin)


class TestCreateServer(APITestCase):

    def setUp(self):
        super().setUp()
        self.compute.create.return_value = self.instance
        self.images = self.useFixture(fixtures.TempDir()).path + '/i.json'
        with open(self.images, 'w') as f:
            json.dump([{'id': 'img-1', 'name': 'stamp',
                        'properties': {'kernel': '/k.elf',
                                       'cmdline': 'quiet'}}], f)
        self.flags(images_file=self.images, group='api')
        self.useFixture_patch('nova.api.handlers.servers.find_flavor',
                              return_value=self.instance.flavor)

    def _create(self, image_ref):
        return self.request('/v2.1/servers', 'POST', {'server': {
            'name': 'vm1', 'flavorRef': 'f1', 'imageRef': image_ref}})

    def test_image_properties_reach_the_driver(self):
        # The libvirt driver boots <os><kernel> from them.
        self.assertEqual(202, self._create('stamp').status_int)
        self.compute.create.assert_called_once_with(
            mock.ANY, self.instance.flavor, 'vm1', image_ref='stamp',
            image_meta={'kernel': '/k.elf', 'cmdline': 'quiet'})

    def test_builtin_image_has_no_properties(self):
        self.assertEqual(202, self._create('cirros').status_int)
        self.assertEqual({}, self.compute.create.call_args.kwargs[
            'image_meta'])

    def test_unknown_image_is_400(self):
        self.assertEqual(400, self._create('nope').status_int)
        self.compute.create.assert_not_called()


class TestProjectInURL(FlavorAPITestCase):
    """/v2.1/{project_id}/... reaches the same handlers, for its project."""

    def test_same_handler_and_links_name_the_project(self):
        resp = self.request('/v2.1/owner/flavors/f1', token='alice:owner')
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertEqual(
            [{'rel': 'self', 'href': 'http://localhost/v2.1/owner/flavors/f1'},
             {'rel': 'bookmark', 'href': 'http://localhost/owner/flavors/f1'}],
            resp.json['flavor']['links'])
        plain = self.request('/v2.1/flavors/f1', token='alice:owner')
        self.assertEqual('http://localhost/v2.1/flavors/f1',
                         plain.json['flavor']['links'][0]['href'])

    def test_server_paths(self):
        resp = self.request('/v2.1/owner/servers/%s' % UUID,
                            token='alice:owner')
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertEqual(UUID, resp.json['server']['id'])

    def test_another_project_is_400_even_for_admins(self):
        for token in ('eve:other', 'admin:adminproj'):
            resp = self.request('/v2.1/owner/flavors/f1', token=token)
            self.assertEqual(400, resp.status_int, token)
            message = resp.json['badRequest']['message']
            self.assertIn("URL's project_id 'owner'", message)

    def test_unknown_paths_stay_404_and_methods_405(self):
        resp = self.request('/v2.1/owner/nothing')
        self.assertEqual(404, resp.status_int)
        self.assertIn('/v2.1/owner/nothing',
                      resp.json['itemNotFound']['message'])
        self.assertEqual(404, self.request('/v2.1/owner').status_int)
        resp = self.request('/v2.1/notused/flavors', 'PATCH',
                            token='notused')
        self.assertEqual(405, resp.status_int)

    def test_collection_names_are_not_projects(self):
        # /v2.1/flavors/detail is the list, not project "flavors".
        with mock.patch('nova.objects.FlavorList.get_all', return_value=[]):
            resp = self.request('/v2.1/flavors/detail')
        self.assertEqual(200, resp.status_int)
        self.assertEqual([], resp.json['flavors'])

    def test_next_links_keep_the_project(self):
        with mock.patch('nova.objects.FlavorList.get_all',
                        return_value=[self.flavor]):
            resp = self.request('/v2.1/notused/flavors?limit=1',
                                token='notused')
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertTrue(resp.json['flavors_links'][0]['href'].startswith(
            'http://localhost/v2.1/notused/flavors?'))


class TestRouterVersionedMethods(test.NoDBTestCase):
    """A method that exists only in other microversions is 404, as Nova."""

    def test_method_of_another_version_is_404_not_405(self):
        router = routes.Router()
        router.add('GET', '/flavors/{flavor_id}', lambda req, **kw: None)
        router.add('PUT', '/flavors/{flavor_id}', lambda req, **kw: None,
                   ((2, 55), None))
        err = self.assertRaises(http.HTTPError, router.match, 'PUT',
                                '/flavors/f1', (2, 54))
        self.assertEqual(404, err.code)
        err = self.assertRaises(http.HTTPError, router.match, 'POST',
                                '/flavors/f1', (2, 54))
        self.assertEqual(405, err.code)
        self.assertEqual([('Allow', 'GET')], err.headers)

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

"""Who may do what through the API: personas, admin by policy, scopes.

Requests go through the real application with Keystone's headers (what
auth_token leaves in the request), so each case names the roles and the
scope of a token; the compute API below the handlers is mocked.
"""

import datetime
import json
from unittest import mock

import fixtures
import webob

from nova.api import policy
from nova.api import wsgi
from nova.compute import vm_states
from nova import context as nova_context
from nova import objects
from nova import test

UUID = '0e3ad2a2-7b63-4d3e-9a83-2f4f8f0e2c11'
SERVER = '/v2.1/servers/%s' % UUID
ACTION = SERVER + '/action'
LIVE = {'os-migrateLive': {'host': None, 'block_migration': 'auto'}}


def _instance():
    return objects.Instance(
        uuid=UUID, display_name='vm1', project_id='owner', user_id='u',
        vm_state=vm_states.ACTIVE, task_state=None, power_state=1,
        host='compute-a', node='compute-a', image_ref=None,
        launched_at=None, terminated_at=None, locked=False,
        created_at=datetime.datetime(2026, 1, 1), updated_at=None,
        fault=None, flavor=objects.Flavor(
            name='f1', vcpus=1, memory_mb=16, root_gb=0, ephemeral_gb=0,
            swap=0, extra_specs={}))


class PolicyFile(fixtures.Fixture):
    """A policy file with ``rules``, in use until the test ends."""

    def __init__(self, test_case, rules):
        super().__init__()
        self.test_case = test_case
        self.rules = rules

    def _setUp(self):
        path = self.useFixture(fixtures.TempDir()).path + '/policy.json'
        with open(path, 'w') as f:
            json.dump(self.rules, f)
        self.test_case.flags(policy_file=path, group='oslo_policy')
        policy.reset()
        self.addCleanup(policy.reset)


def keystone_request(path, roles, project='owner', method='GET', body=None,
                     scope_headers=None):
    """A request as keystonemiddleware's auth_token passes it on."""
    req = webob.Request.blank(path, method=method)
    req.headers.update({'X-Identity-Status': 'Confirmed',
                        'X-User-Id': 'u-' + project,
                        'X-Project-Id': project, 'X-Roles': roles,
                        'OpenStack-API-Version': 'compute 2.30'})
    req.headers.update(scope_headers or {})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = 'application/json'
    return req


class PersonaTestCase(test.NoDBTestCase):
    """Reader, member, administrator and strangers on one server."""

    READER = 'reader'
    MEMBER = 'member,reader'
    ADMIN = 'admin,member,reader'

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='keystone')
        self.compute = mock.Mock()
        self.instance = _instance()
        for target, kwargs in [
                ('nova.api.handlers.servers.compute',
                 {'return_value': self.compute}),
                ('nova.objects.Instance.get_by_uuid',
                 {'return_value': self.instance}),
                ('nova.objects.InstanceList.get_by_filters',
                 {'return_value': [self.instance]})]:
            self.useFixture(fixtures.MockPatch(target, **kwargs))
        policy.reset()
        self.addCleanup(policy.reset)

    def status(self, roles, path=SERVER, method='GET', body=None,
               project='owner', scope_headers=None):
        req = keystone_request(path, roles, project, method, body,
                               scope_headers)
        return req.get_response(self.app).status_int

    def test_reader_may_look_but_not_act(self):
        self.assertEqual(200, self.status(self.READER))
        self.assertEqual(200, self.status(self.READER, '/v2.1/servers'))
        self.assertEqual(200, self.status(self.READER,
                                          '/v2.1/servers/detail'))
        for method, body in [('DELETE', None),
                             ('PUT', {'server': {'name': 'x'}})]:
            self.assertEqual(403, self.status(self.READER, method=method,
                                              body=body))
        for body in ({'os-stop': None}, {'reboot': {'type': 'SOFT'}},
                     {'lock': None}, {'migrate': None}, LIVE):
            self.assertEqual(403, self.status(self.READER, ACTION, 'POST',
                                              body), body)
        self.assertEqual([], self.compute.mock_calls)

    def test_member_acts_on_its_projects_servers(self):
        self.assertEqual(204, self.status(self.MEMBER, method='DELETE'))
        self.assertEqual(202, self.status(self.MEMBER, ACTION, 'POST',
                                          {'os-stop': None}))
        # Moving a server between hosts is for administrators.
        self.assertEqual(403, self.status(self.MEMBER, ACTION, 'POST', LIVE))
        self.assertEqual(403, self.status(self.MEMBER, ACTION, 'POST',
                                          {'migrate': None}))
        self.compute.live_migrate.assert_not_called()

    def test_other_projects_do_not_see_the_server(self):
        # As Nova: another project's server does not exist for the caller.
        for roles in (self.READER, self.MEMBER):
            self.assertEqual(404, self.status(roles, project='other'))
            self.assertEqual(404, self.status(roles, method='DELETE',
                                              project='other'))
            self.assertEqual(404, self.status(roles, ACTION, 'POST',
                                              {'os-stop': None},
                                              project='other'))
        self.assertEqual([], self.compute.mock_calls)

    def test_a_role_without_rights_is_refused(self):
        self.assertEqual(403, self.status('observer'))
        self.assertEqual(403, self.status('observer', '/v2.1/servers'))

    def test_admin_of_another_project_may_migrate(self):
        self.assertEqual(200, self.status(self.ADMIN, project='ops'))
        self.assertEqual(202, self.status(self.ADMIN, ACTION, 'POST', LIVE,
                                          project='ops'))
        self.compute.live_migrate.assert_called_once()

    def test_system_and_domain_scoped_tokens_are_refused(self):
        # Every API rule acts in a project: an administrator's token
        # scoped to the system or a domain is the wrong kind of token.
        for headers in ({'OpenStack-System-Scope': 'all'},
                        {'X-Domain-Id': 'default'}):
            self.assertEqual(403, self.status(self.ADMIN, ACTION, 'POST',
                                              LIVE, project='',
                                              scope_headers=headers))
            self.assertEqual(403, self.status(self.ADMIN,
                                              scope_headers=headers))
        self.compute.live_migrate.assert_not_called()

    def test_old_default_still_passes_when_new_defaults_are_off(self):
        # The deprecated admin_or_owner default: anyone of the project.
        self.assertEqual(403, self.status('observer'))
        self.flags(enforce_new_defaults=False, group='oslo_policy')
        policy.reset()
        self.assertEqual(200, self.status('observer'))
        self.assertEqual(204, self.status('observer', method='DELETE'))

    def test_operator_override_of_a_rule_name_still_applies(self):
        self.useFixture(PolicyFile(self, {
            'os_compute_api:servers:delete': 'role:janitor'}))
        self.assertEqual(403, self.status(self.MEMBER, method='DELETE'))
        self.assertEqual(204, self.status('janitor', method='DELETE'))


class AdminByPolicyTestCase(test.TestCase):
    """``context_is_admin`` in the policy file decides who is an admin."""

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='keystone')
        objects.ComputeNode(
            nova_context.get_admin_context(), host='compute-a',
            hypervisor_hostname='compute-a', hypervisor_type='QEMU',
            hypervisor_version=8002000, vcpus=8, memory_mb=16384,
            local_gb=100, vcpus_used=0, memory_mb_used=0, local_gb_used=0,
            cpu_info='{}', host_ip='192.0.2.10').create()
        policy.reset()
        self.addCleanup(policy.reset)

    def status(self, roles, path='/v2.1/os-hypervisors', project='ops'):
        return keystone_request(path, roles, project).get_response(
            self.app).status_int

    def test_admin_role_by_default(self):
        self.assertEqual(200, self.status('admin'))
        self.assertEqual(403, self.status('cloud-admin'))

    def test_overridden_context_is_admin_moves_administration(self):
        self.useFixture(PolicyFile(self, {
            'context_is_admin': 'role:cloud-admin'}))
        self.assertEqual(200, self.status('cloud-admin'))
        hypervisors = keystone_request(
            '/v2.1/os-hypervisors', 'cloud-admin', 'ops').get_response(
                self.app).json['hypervisors']
        self.assertEqual(['compute-a'],
                         [h['hypervisor_hostname'] for h in hypervisors])
        # The role the code used to name is nothing special any more.
        self.assertEqual(403, self.status('admin'))
        self.assertEqual(403, self.status('admin,member,reader',
                                          '/v2.1/os-services'))

    def test_noauth_follows_the_policy_too(self):
        noauth = wsgi.APIApplication(auth_strategy='noauth2')
        req = webob.Request.blank('/v2.1/os-hypervisors')
        req.headers['X-Auth-Token'] = 'admin:ops'
        self.assertEqual(200, req.get_response(noauth).status_int)
        self.useFixture(PolicyFile(self, {
            'context_is_admin': 'role:cloud-admin'}))
        self.assertEqual(403, req.get_response(noauth).status_int)


class NoAuthRolesTestCase(test.NoDBTestCase):
    """noauth2 tokens carry roles the way Keystone tokens do."""

    def roles(self, token):
        req = webob.Request.blank('/')
        req.environ['nova.request_id'] = 'req-x'
        req.headers['X-Auth-Token'] = token
        ctxt = wsgi.noauth_context(req)
        return sorted(ctxt.roles), ctxt.is_admin

    def test_admin_token_has_the_implied_roles(self):
        for token in ('admin', 'admin:proj', 'notused'):
            self.assertEqual((['admin', 'member', 'reader'], True),
                             self.roles(token))

    def test_other_tokens_are_members_and_readers(self):
        for token in ('alice:proj', 'bob'):
            self.assertEqual((['member', 'reader'], False),
                             self.roles(token))

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

"""The power actions of ``POST /servers/{id}/action``: request schemas,
policies, the lock check, and the answers (the compute API is mocked)."""

import datetime
import json
from unittest import mock

import webob

from nova.api.handlers import server_power
from nova.api import policy
from nova.api import wsgi
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova import test

UUID = '0b0f61c3-5a9a-4b59-8f5e-1f2b3c4d5e6f'
ADMIN, OWNER, OTHER = 'admin:adminproj', 'alice:owner', 'eve:other'

# body -> (compute API method, keyword arguments it gets)
ACCEPTED = [
    ({'os-stop': None}, 'stop', {}),
    ({'os-start': None}, 'start', {}),
    ({'reboot': {'type': 'SOFT'}}, 'reboot', {'reboot_type': 'SOFT'}),
    ({'reboot': {'type': 'hard'}}, 'reboot', {'reboot_type': 'HARD'}),
    ({'reboot': {'type': 'Soft'}}, 'reboot', {'reboot_type': 'SOFT'}),
    ({'pause': None}, 'pause', {}),
    ({'unpause': None}, 'unpause', {}),
    # What tempest (and Nova's own clients) send.
    ({'os-stop': {}}, 'stop', {}),
    ({'os-start': {}}, 'start', {}),
    ({'pause': {}}, 'pause', {}),
    ({'unpause': {}}, 'unpause', {}),
]

BAD_BODIES = [
    {'os-stop': 'now'}, {'os-start': 'now'}, {'pause': {'x': 1}},
    {'unpause': []}, {'reboot': None}, {'reboot': {}},
    {'reboot': {'type': 'WARM'}}, {'reboot': {'type': 'SOFT', 'x': 1}},
]


def _instance(**kwargs):
    values = dict(uuid=UUID, display_name='vm1', project_id='owner',
                  user_id='alice', vm_state=vm_states.ACTIVE,
                  task_state=None, power_state=1, host='compute-a',
                  node='compute-a', locked=False, image_ref=None,
                  launched_at=None, terminated_at=None, fault=None,
                  created_at=datetime.datetime(2025, 1, 1), updated_at=None,
                  flavor=objects.Flavor(name='f1', vcpus=1, memory_mb=16,
                                        root_gb=0, ephemeral_gb=0, swap=0,
                                        extra_specs={}))
    values.update(kwargs)
    return objects.Instance(**values)


class ServerPowerAPITestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='noauth2')
        self.compute = mock.Mock()
        self.useFixture_patch('nova.api.handlers.servers.compute',
                              return_value=self.compute)
        self.instance = _instance()
        self.useFixture_patch('nova.objects.Instance.get_by_uuid',
                              return_value=self.instance)
        self.addCleanup(policy.reset)

    def useFixture_patch(self, target, **kwargs):
        patcher = mock.patch(target, **kwargs)
        patcher.start()
        self.addCleanup(patcher.stop)

    def post(self, body, token=OWNER, version='2.1'):
        req = webob.Request.blank('/v2.1/servers/%s/action' % UUID,
                                  method='POST')
        req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = 'compute ' + version
        req.body = json.dumps(body).encode()
        req.content_type = 'application/json'
        return req.get_response(self.app)

    def test_accepted_at_every_microversion(self):
        for version in ('2.1', '2.53', '2.100'):
            for body, method, kwargs in ACCEPTED:
                self.compute.reset_mock()
                resp = self.post(body, version=version)
                self.assertEqual(202, resp.status_int, resp.text)
                self.assertEqual(b'', resp.body)
                getattr(self.compute, method).assert_called_once_with(
                    mock.ANY, self.instance, **kwargs)

    def test_bad_bodies_are_a_400(self):
        for body in BAD_BODIES:
            resp = self.post(body)
            self.assertEqual(400, resp.status_int, body)
            self.assertIn('badRequest', resp.json)
        self.assertEqual([], self.compute.mock_calls)

    def test_other_projects_get_a_404(self):
        resp = self.post({'os-stop': None}, token=OTHER)
        self.assertEqual(404, resp.status_int)
        self.compute.stop.assert_not_called()

    def test_policies_have_novas_names(self):
        checked = []
        real = policy.authorize

        def recording(context, action, target=None):
            checked.append(action)
            return real(context, action, target)

        with mock.patch.object(policy, 'authorize', side_effect=recording):
            for body, _method, _kwargs in ACCEPTED[:3] + ACCEPTED[5:7]:
                self.post(body)
        self.assertEqual(['os_compute_api:servers:stop',
                          'os_compute_api:servers:start',
                          'os_compute_api:servers:reboot',
                          'os_compute_api:os-pause-server:pause',
                          'os_compute_api:os-pause-server:unpause'],
                         [c for c in checked if 'server' in c])

    def test_policy_can_forbid(self):
        with mock.patch.object(policy, 'authorize', return_value=False):
            resp = self.post({'pause': None})
        self.assertEqual(403, resp.status_int)
        self.assertIn('os_compute_api:os-pause-server:pause',
                      resp.json['forbidden']['message'])

    def test_locked_server_refuses_owner_not_admin(self):
        self.instance.locked = True
        for body, _method, _kwargs in ACCEPTED:
            resp = self.post(body)
            self.assertEqual(409, resp.status_int)
            self.assertIn('locked', resp.json['conflictingRequest']
                          ['message'])
        self.assertEqual([], self.compute.mock_calls)
        self.assertEqual(202, self.post({'os-stop': None},
                                        token=ADMIN).status_int)

    def test_wrong_state_is_a_409_naming_it(self):
        self.compute.start.side_effect = exception.InstanceInvalidState(
            instance_uuid=UUID, attr='vm_state', state='active',
            method='start')
        resp = self.post({'os-start': None})
        self.assertEqual(409, resp.status_int)
        message = resp.json['conflictingRequest']['message']
        self.assertIn('vm_state active', message)
        self.assertIn('start', message)

    def test_busy_and_not_ready_are_409s(self):
        for error in (
                exception.UnexpectedTaskStateError(
                    instance_uuid=UUID, actual='migrating', expected=[None]),
                exception.InstanceNotReady(instance_uuid=UUID,
                                           method='stop', reason='no host')):
            self.compute.stop.side_effect = error
            resp = self.post({'os-stop': None})
            self.assertEqual(409, resp.status_int, resp.text)

    def test_old_compute_is_a_409(self):
        self.compute.pause.side_effect = exception.RPCPinnedToOldVersion(
            method='pause_instance', needed='1.5', pinned='1.4',
            host='compute-a')
        resp = self.post({'pause': None})
        self.assertEqual(409, resp.status_int)
        self.assertIn('compute-a', resp.json['conflictingRequest']
                      ['message'])

    def test_actions_table(self):
        self.assertEqual({'os-stop', 'os-start', 'reboot', 'pause',
                          'unpause'}, set(server_power.ACTIONS))

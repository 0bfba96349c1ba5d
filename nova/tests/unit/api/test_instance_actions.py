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

"""``os-instance-actions``: shapes per microversion, policies, paging."""

import datetime
import hashlib
import json
from unittest import mock
import urllib.parse

import fixtures
from oslo_utils import timeutils
import webob

from nova.api.handlers import instance_actions as handler
from nova.api import policy
from nova.api import wsgi
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit.api import test_wsgi

UUID = test_wsgi.UUID
T0 = datetime.datetime(2025, 4, 1, 8, 0, 0, 123456)
ACTION_KEYS = {'action', 'instance_uuid', 'message', 'project_id',
               'request_id', 'start_time', 'user_id'}
EVENT_KEYS = {'event', 'start_time', 'finish_time', 'result'}

ADMIN, OWNER, OTHER = 'admin:adminproj', 'alice:owner', 'eve:other'


class InstanceActionsAPITestCase(test.TestCase):
    """The real DB holds the actions; the instance lookup is faked."""

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='noauth2')
        self.instance = test_wsgi._instance()
        self.deleted = False
        patcher = mock.patch('nova.objects.Instance.get_by_uuid',
                             side_effect=self._get_instance)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.now = T0
        patcher = mock.patch.object(timeutils, 'utcnow',
                                    side_effect=lambda: self.now)
        patcher.start()
        self.addCleanup(patcher.stop)
        self._record_history()

    def _get_instance(self, context, uuid, expected_attrs=None):
        if uuid != UUID or (self.deleted and context.read_deleted == 'no'):
            raise exception.InstanceNotFound(instance_id=uuid)
        return self.instance

    def tick(self, seconds=1):
        self.now += datetime.timedelta(seconds=seconds)

    def _ctxt(self, request_id, user='alice', project='owner'):
        return nova_context.RequestContext(user_id=user, project_id=project,
                                           request_id=request_id)

    def _record_history(self):
        """create (ok), then a live migration the conductor refused."""
        create = self._ctxt('req-create')
        objects.InstanceAction.action_start(create, UUID, 'create')
        objects.InstanceActionEvent.event_record(
            create, UUID, 'conductor_schedule_and_build_instances',
            'Success', host='conductor')
        self.tick(10)
        live = self._ctxt('req-live', user='admin', project='adminproj')
        objects.InstanceAction.action_start(live, UUID, 'live-migration')
        objects.InstanceActionEvent.event_start(
            live, UUID, 'conductor_live_migrate_instance', host='conductor')
        self.tick()
        objects.InstanceActionEvent.event_finish(
            live, UUID, 'conductor_live_migrate_instance', 'Error',
            traceback='Traceback (most recent call last): ...',
            details='Migration pre-check error: same host')
        objects.InstanceAction.action_finish(live, UUID, message='Error')

    def request(self, path, token=ADMIN, version='2.1', headers=None):
        req = webob.Request.blank('/v2.1/servers/%s/os-instance-actions%s'
                                  % (UUID, path))
        req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = 'compute ' + version
        req.headers.update(headers or {})
        return req.get_response(self.app)

    def actions(self, query='', **kwargs):
        resp = self.request(query, **kwargs)
        self.assertEqual(200, resp.status_int, resp.text)
        return resp.json

    def action(self, request_id='req-live', **kwargs):
        resp = self.request('/' + request_id, **kwargs)
        self.assertEqual(200, resp.status_int, resp.text)
        return resp.json['instanceAction']


class TestList(InstanceActionsAPITestCase):

    def test_2_1_shape_newest_first(self):
        body = self.actions()
        self.assertEqual({'instanceActions'}, set(body))
        listed = body['instanceActions']
        self.assertEqual(['live-migration', 'create'],
                         [a['action'] for a in listed])
        self.assertEqual(ACTION_KEYS, set(listed[0]))
        self.assertEqual({
            'action': 'live-migration', 'instance_uuid': UUID,
            'message': 'Error', 'project_id': 'adminproj',
            'request_id': 'req-live', 'user_id': 'admin',
            'start_time': '2025-04-01T08:00:10.123456'}, listed[0])
        self.assertIsNone(listed[1]['message'])

    def test_2_58_adds_updated_at(self):
        listed = self.actions(version='2.58')['instanceActions']
        self.assertEqual(ACTION_KEYS | {'updated_at'}, set(listed[0]))
        # The failed event and the finish changed the action.
        self.assertEqual('2025-04-01T08:00:11.123456',
                         listed[0]['updated_at'])
        self.assertEqual('2025-04-01T08:00:00.123456',
                         listed[1]['updated_at'])

    def test_paging_from_2_58(self):
        body = self.actions('?limit=1', version='2.58')
        self.assertEqual(['req-live'], [a['request_id']
                                        for a in body['instanceActions']])
        link = body['links'][0]
        self.assertEqual('next', link['rel'])
        url = urllib.parse.urlparse(link['href'])
        self.assertEqual('/v2.1/servers/%s/os-instance-actions' % UUID,
                         url.path)
        self.assertEqual({'limit': ['1'], 'marker': ['req-live']},
                         urllib.parse.parse_qs(url.query))
        page2 = self.actions('?' + url.query, version='2.58')
        self.assertEqual(['req-create'], [a['request_id'] for a in
                                          page2['instanceActions']])
        # Full page: a next link, which then yields an empty page.
        self.assertIn('links', page2)
        page3 = self.actions('?limit=1&marker=req-create', version='2.58')
        self.assertEqual({'instanceActions': []}, page3)
        # Not a full page: no link.
        self.assertNotIn('links', self.actions('?limit=5', version='2.58'))
        self.assertNotIn('links', self.actions(version='2.58'))

    def test_max_limit_caps_the_page(self):
        self.flags(max_limit=1, group='api')
        body = self.actions('?limit=5', version='2.58')
        self.assertEqual(1, len(body['instanceActions']))
        self.assertIn('marker=req-live', body['links'][0]['href'])
        self.assertEqual(1, len(self.actions(
            version='2.58')['instanceActions']))

    def test_before_2_58_query_is_ignored(self):
        body = self.actions('?limit=1&marker=nope&sort=x', version='2.57')
        self.assertEqual(2, len(body['instanceActions']))
        self.assertNotIn('links', body)

    def test_bad_queries_are_400(self):
        for query, version in (('?limit=-1', '2.58'), ('?limit=a', '2.58'),
                               ('?marker=req-nope', '2.58'),
                               ('?sort=x', '2.58'),
                               ('?limit=1&limit=2', '2.58'),
                               ('?changes-since=yesterday', '2.58'),
                               ('?changes-before=2025-04-01T08:00:05Z',
                                '2.65'),
                               ('?changes-since=2025-04-02T00:00:00Z&'
                                'changes-before=2025-04-01T00:00:00Z',
                                '2.66')):
            resp = self.request(query, version=version)
            self.assertEqual(400, resp.status_int, query)
            self.assertIn('badRequest', resp.json)
        resp = self.request('?marker=req-nope', version='2.58')
        self.assertIn('req-nope', resp.json['badRequest']['message'])

    def test_changes_since_2_58_and_before_2_66(self):
        def ids(query, version):
            return [a['request_id'] for a in
                    self.actions(query, version=version)['instanceActions']]

        self.assertEqual(['req-live'], ids(
            '?changes-since=2025-04-01T08:00:05Z', '2.58'))
        self.assertEqual(['req-live', 'req-create'], ids(
            '?changes-since=2025-04-01T08:00:00Z', '2.58'))
        self.assertEqual(['req-create'], ids(
            '?changes-before=2025-04-01T08:00:05Z', '2.66'))
        self.assertEqual(['req-live'], ids(
            '?changes-since=2025-04-01T08:00:05Z&'
            'changes-before=2025-04-01T09:30:00%2B01:00', '2.66'))


class TestShow(InstanceActionsAPITestCase):

    def test_admin_sees_events_at_every_version(self):
        action = self.action(version='2.1')
        self.assertEqual(ACTION_KEYS | {'events'}, set(action))
        self.assertEqual('Error', action['message'])
        self.assertEqual([{
            'event': 'conductor_live_migrate_instance',
            'start_time': '2025-04-01T08:00:10.123456',
            'finish_time': '2025-04-01T08:00:11.123456',
            'result': 'Error',
            'traceback': 'Traceback (most recent call last): ...'}],
            action['events'])

    def test_owner_sees_events_from_2_51_without_traceback(self):
        self.assertNotIn('events', self.action(token=OWNER, version='2.50'))
        events = self.action(token=OWNER, version='2.51')['events']
        self.assertEqual([EVENT_KEYS], [set(e) for e in events])
        self.assertEqual('Error', events[0]['result'])

    def test_2_58_adds_updated_at(self):
        self.assertEqual(ACTION_KEYS | {'events', 'updated_at'},
                         set(self.action(version='2.58')))

    def test_2_62_host_for_admin_host_id_for_all(self):
        admin = self.action(version='2.62')['events'][0]
        owner = self.action(token=OWNER, version='2.62')['events'][0]
        self.assertEqual(EVENT_KEYS | {'traceback', 'host', 'hostId'},
                         set(admin))
        self.assertEqual(EVENT_KEYS | {'hostId'}, set(owner))
        self.assertEqual('conductor', admin['host'])
        # Hashed with the action's project, as Nova does.
        expected = hashlib.sha224(b'adminprojconductor').hexdigest()
        self.assertEqual(expected, admin['hostId'])
        self.assertEqual(expected, owner['hostId'])
        self.assertNotIn('host', self.action(version='2.61')['events'][0])

    def test_host_id_of_an_action_without_project(self):
        system = nova_context.RequestContext(request_id='req-sys')
        objects.InstanceAction.action_start(system, UUID, 'migrate')
        objects.InstanceActionEvent.event_record(system, UUID, 'step',
                                                 'Success', host='h1')
        event = self.action('req-sys', version='2.62')['events'][0]
        self.assertEqual(hashlib.sha224(b'ownerh1').hexdigest(),
                         event['hostId'])
        self.assertEqual('', handler.host_id(None, 'owner'))

    def test_2_84_details_for_admin_only_by_default(self):
        admin = self.action(version='2.84')['events'][0]
        self.assertEqual('Migration pre-check error: same host',
                         admin['details'])
        self.assertNotIn('details', self.action(version='2.83')['events'][0])
        owner = self.action(token=OWNER, version='2.84')['events'][0]
        self.assertEqual(EVENT_KEYS | {'hostId'}, set(owner))

    def test_events_newest_first(self):
        live = self._ctxt('req-live')
        self.tick()
        objects.InstanceActionEvent.event_record(live, UUID, 'later',
                                                 'Success')
        self.assertEqual(['later', 'conductor_live_migrate_instance'],
                         [e['event'] for e in self.action()['events']])

    def test_unknown_request_id_is_404(self):
        resp = self.request('/req-unknown')
        self.assertEqual(404, resp.status_int)
        self.assertIn('req-unknown', resp.json['itemNotFound']['message'])

    def test_another_instances_request_id_is_404(self):
        objects.InstanceAction.action_start(
            self._ctxt('req-else'), '0b9a7f1e-1111-4c8e-9c1d-2a3b4c5d6e70',
            'create')
        self.assertEqual(404, self.request('/req-else').status_int)


class TestDeletedServers(InstanceActionsAPITestCase):

    def test_found_from_2_21(self):
        self.deleted = True
        for path in ('', '/req-live'):
            self.assertEqual(404, self.request(path, version='2.20')
                             .status_int)
            self.assertEqual(200, self.request(path, version='2.21')
                             .status_int)
            self.assertEqual(200, self.request(path, token=OWNER,
                                               version='2.21').status_int)
            self.assertEqual(404, self.request(path, token=OTHER,
                                               version='2.21').status_int)

    def test_context_is_left_as_it_was(self):
        self.deleted = True
        seen = []
        real = handler.servers.get_instance

        def spy(req, server_id):
            seen.append(req.context)
            return real(req, server_id)

        with mock.patch.object(handler.servers, 'get_instance', spy):
            self.request('', version='2.21')
        self.assertEqual('no', seen[0].read_deleted)


class TestPolicies(InstanceActionsAPITestCase):

    def test_owner_admin_other(self):
        for path in ('', '/req-live'):
            self.assertEqual(200, self.request(path, token=ADMIN).status_int)
            self.assertEqual(200, self.request(path, token=OWNER).status_int)
            # Another project's server does not exist for the caller.
            self.assertEqual(404, self.request(path, token=OTHER).status_int)

    def _keystone(self, path, roles, project='owner'):
        app = wsgi.APIApplication(auth_strategy='keystone')
        req = webob.Request.blank('/v2.1/servers/%s/os-instance-actions%s'
                                  % (UUID, path))
        req.headers.update({'X-Identity-Status': 'Confirmed',
                            'X-User-Id': 'u', 'X-Project-Id': project,
                            'X-Roles': roles,
                            'OpenStack-API-Version': 'compute 2.84'})
        return req.get_response(app)

    def test_readers_members_and_others_of_the_project(self):
        for path in ('', '/req-live'):
            self.assertEqual(200, self._keystone(path, 'reader').status_int)
            # Keystone puts the reader role a member implies in the token.
            self.assertEqual(200, self._keystone(path, 'member,reader')
                             .status_int)
            # A role that gives no right to read the project: 403.
            resp = self._keystone(path, 'observer')
            self.assertEqual(403, resp.status_int)
            self.assertIn('os_compute_api:os-instance-actions:',
                          resp.json['forbidden']['message'])
        events = self._keystone('/req-live', 'reader').json[
            'instanceAction']['events']
        self.assertNotIn('traceback', events[0])
        admin = self._keystone('/req-live', 'admin', project='x').json[
            'instanceAction']['events'][0]
        self.assertIn('details', admin)

    def test_events_policies_can_be_opened_to_owners(self):
        policy_file = self.useFixture(_PolicyFile({
            'os_compute_api:os-instance-actions:events':
                'project_id:%(project_id)s',
            'os_compute_api:os-instance-actions:events:details':
                'project_id:%(project_id)s'})).path
        self.flags(policy_file=policy_file, group='oslo_policy')
        policy.reset()
        self.addCleanup(policy.reset)
        self.assertIn('traceback',
                      self.action(token=OWNER, version='2.1')['events'][0])
        event = self.action(token=OWNER, version='2.84')['events'][0]
        self.assertEqual({'host', 'details', 'traceback'},
                         {'host', 'details', 'traceback'} & set(event))


class _PolicyFile(fixtures.Fixture):

    def __init__(self, rules):
        super().__init__()
        self.rules = rules

    def _setUp(self):
        directory = self.useFixture(fixtures.TempDir()).path
        self.path = directory + '/policy.json'
        with open(self.path, 'w') as f:
            json.dump(self.rules, f)

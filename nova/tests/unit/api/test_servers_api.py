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

"""``/servers`` with the real DB: list filters, PUT, lock and unlock.

The compute API's lock, unlock and update run for real; what would reach
a host (delete, the power actions, moves) is a mock.
"""

import datetime
import json
from unittest import mock
import urllib.parse

import webob

from nova.api import wsgi
from nova.compute import api as compute_api
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova.db import api as db
from nova import objects
from nova import test

CIRROS_ID = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
OWNER = 'alice:p1'
OTHER = 'bob:p2'
ADMIN = 'admin'


class ServersAPITestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='noauth2')
        # Real lock/unlock/update; a mock for what needs a host.
        self.compute = compute_api.API.__new__(compute_api.API)
        for name in ('delete', 'migrate', 'live_migrate', 'confirm_resize',
                     'revert_resize', 'stop', 'start', 'reboot', 'pause',
                     'unpause'):
            setattr(self.compute, name, mock.Mock())
        patcher = mock.patch('nova.api.handlers.servers.compute',
                             return_value=self.compute)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.flavors = {name: self._flavor(name) for name in ('f1', 'f2')}
        self.t0 = datetime.datetime(2025, 1, 1)
        self.servers = {}
        self._server('vm-a', 'p1', 'f1', 'compute-a', vm_states.ACTIVE,
                     image_ref='cirros', minutes=1)
        self._server('vm-b', 'p1', 'f2', 'compute-b', vm_states.ERROR,
                     minutes=2)
        self._server('web-1', 'p1', 'f1', 'compute-b', vm_states.STOPPED,
                     image_ref=CIRROS_ID, minutes=3)
        self._server('other', 'p2', 'f1', 'compute-a', vm_states.ACTIVE,
                     minutes=4)

    def _flavor(self, name, is_public=True):
        flavor = objects.Flavor(self.context, name=name, flavorid=name,
                                memory_mb=16, vcpus=1, root_gb=0,
                                ephemeral_gb=0, swap=0, disabled=False,
                                is_public=is_public, extra_specs={})
        flavor.create()
        return flavor

    def _server(self, name, project, flavor, host, vm_state, image_ref=None,
                minutes=0, **kwargs):
        when = self.t0 + datetime.timedelta(minutes=minutes)
        instance = objects.Instance(
            self.context, display_name=name, project_id=project,
            user_id='u-' + project, flavor=self.flavors[flavor], host=host,
            node=host + '.node', vm_state=vm_state, power_state=1,
            image_ref=image_ref, created_at=when, **kwargs)
        instance.create()
        db.instance_update_and_get_original(self.context, instance.uuid,
                                            {'updated_at': when})
        self.servers[name] = instance
        return instance

    def request(self, path, method='GET', body=None, token=OWNER,
                version='2.1'):
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = 'compute ' + version
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        return req.get_response(self.app)

    def names(self, query='', token=OWNER, version='2.1', detail=False):
        path = '/servers/detail' if detail else '/servers'
        resp = self.request(path + ('?' + query if query else ''),
                            token=token, version=version)
        self.assertEqual(200, resp.status_int, resp.text)
        return sorted(s['name'] for s in resp.json['servers'])

    def status(self, path, token=OWNER, version='2.1', method='GET',
               body=None):
        return self.request(path, method, body, token, version).status_int


class TestListFilters(ServersAPITestCase):

    def test_a_project_sees_its_own_servers(self):
        self.assertEqual(['vm-a', 'vm-b', 'web-1'], self.names())
        self.assertEqual(['other'], self.names(token=OTHER))
        # An administrator without all_tenants: their own project's.
        self.assertEqual([], self.names(token=ADMIN))

    def test_all_tenants_is_for_administrators(self):
        self.assertEqual(['other', 'vm-a', 'vm-b', 'web-1'],
                         self.names('all_tenants=1', token=ADMIN))
        self.assertEqual(['other', 'vm-a', 'vm-b', 'web-1'],
                         self.names('all_tenants', token=ADMIN))
        self.assertEqual([], self.names('all_tenants=0', token=ADMIN))
        self.assertEqual(403, self.status('/servers?all_tenants=1'))
        self.assertEqual(['other'], self.names(
            'all_tenants=1&project_id=p2', token=ADMIN))
        self.assertEqual(['other'], self.names(
            'all_tenants=1&tenant_id=p2', token=ADMIN))
        # Without all_tenants the project filter is the caller's own.
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         self.names('project_id=p2'))

    def test_status(self):
        self.assertEqual(['vm-b'], self.names('status=ERROR'))
        self.assertEqual(['vm-a'], self.names('status=active'))
        self.assertEqual(['web-1'], self.names('status=SHUTOFF',
                                               detail=True))
        self.assertEqual(['vm-a', 'vm-b'],
                         self.names('status=ACTIVE&status=ERROR'))
        # A status this project never shows is still a valid one.
        self.assertEqual([], self.names('status=SHELVED'))

    def test_status_by_task(self):
        server = self.servers['vm-a']
        server.task_state = task_states.MIGRATING
        server.save()
        self.assertEqual(['vm-a'], self.names('status=MIGRATING'))
        # ACTIVE is the vm_state's own status: any task matches (Nova).
        self.assertEqual(['vm-a'], self.names('status=ACTIVE'))

    def test_unknown_status_empty_then_400_from_2_38(self):
        self.assertEqual([], self.names('status=bogus', version='2.37'))
        resp = self.request('/servers?status=bogus', version='2.38')
        self.assertEqual(400, resp.status_int)
        self.assertIn('Invalid status value',
                      resp.json['badRequest']['message'])

    def test_deleted_status_is_for_administrators(self):
        self.assertEqual(403, self.status('/servers?status=DELETED'))
        # As the compute host does: DELETED, then the row is deleted.
        self.servers['vm-b'].vm_state = vm_states.DELETED
        self.servers['vm-b'].save()
        db.instance_destroy(self.context, self.servers['vm-b'].uuid)
        self.assertEqual(['vm-b'], self.names(
            'status=DELETED&all_tenants=1', token=ADMIN))

    def test_flavor(self):
        self.assertEqual(['vm-b'], self.names('flavor=f2'))
        self.assertEqual(['vm-a', 'web-1'], self.names('flavor=f1'))
        self.assertEqual([], self.names('flavor=nope'))

    def test_key_name_is_a_regular_expression(self):
        for name, key in (('vm-a', 'deploy-key'), ('web-1', 'web-key')):
            db.instance_update_and_get_original(
                self.context, self.servers[name].uuid, {'key_name': key})
        # Nova lets a project filter by key_name from 2.83.
        self.assertEqual(['vm-a', 'web-1'],
                         self.names('key_name=-key$', version='2.83'))
        self.assertEqual(['web-1'], self.names('key_name=^web',
                                               version='2.83'))
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         self.names('key_name=^web', version='2.82'))
        self.assertEqual(['web-1'], self.names(
            'all_tenants=1&key_name=^web', token=ADMIN))

    def test_image_by_id_or_name(self):
        # vm-a was booted by name, web-1 by id: both are that image.
        self.assertEqual(['vm-a', 'web-1'],
                         self.names('image=' + CIRROS_ID))
        self.assertEqual(['vm-a', 'web-1'], self.names('image=cirros'))
        self.assertEqual([], self.names('image=other-image'))

    def test_name_is_a_regular_expression(self):
        self.assertEqual(['vm-a', 'vm-b'], self.names('name=^vm'))
        self.assertEqual(['web-1'], self.names(
            'name=' + urllib.parse.quote(r'-\d$')))
        self.assertEqual(['vm-a', 'vm-b', 'web-1'], self.names('name=-'))
        self.assertEqual([], self.names('name=VM'))
        resp = self.request('/servers?name=%5B')
        self.assertEqual(400, resp.status_int)
        self.assertIn('regular expression',
                      resp.json['badRequest']['message'])

    def test_host_and_node_only_narrow_an_admins_list(self):
        self.assertEqual(['vm-b', 'web-1'], self.names(
            'all_tenants=1&host=compute-b', token=ADMIN))
        self.assertEqual(['other', 'vm-a'], self.names(
            'all_tenants=1&node=^compute-a', token=ADMIN))
        # A member's host filter is dropped, as in Nova.
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         self.names('host=compute-b'))
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         self.names('node=compute-b'))

    def test_changes_since_includes_deleted_servers(self):
        db.instance_destroy(self.context, self.servers['vm-b'].uuid)
        self.assertEqual(['vm-a', 'web-1'], self.names())
        since = (self.t0 + datetime.timedelta(minutes=2)).isoformat() + 'Z'
        resp = self.request('/servers/detail?changes-since=' +
                            urllib.parse.quote(since))
        self.assertEqual(200, resp.status_int)
        statuses = {s['name']: s['status'] for s in resp.json['servers']}
        self.assertEqual({'vm-b': 'DELETED', 'web-1': 'SHUTOFF'}, statuses)
        self.assertEqual(400, self.status('/servers?changes-since=yesterday'))

    def test_changes_before(self):
        before = (self.t0 + datetime.timedelta(minutes=2)).isoformat()
        self.assertEqual(['vm-a', 'vm-b'], self.names(
            'changes-before=' + before, version='2.66'))
        later = (self.t0 + datetime.timedelta(minutes=3)).isoformat()
        self.assertEqual(400, self.status(
            '/servers?changes-since=%s&changes-before=%s' % (later, before),
            version='2.66'))

    def test_locked(self):
        self.servers['web-1'].locked = True
        self.servers['web-1'].save()
        self.assertEqual(['web-1'], self.names('locked=true',
                                               version='2.73'))
        self.assertEqual(['vm-a', 'vm-b'], self.names('locked=false',
                                                      version='2.73'))
        self.assertEqual(400, self.status('/servers?locked=maybe',
                                          version='2.73'))

    def test_addresses_and_tags_match_nothing(self):
        self.assertEqual([], self.names('ip=10.0.0.1'))
        self.assertEqual([], self.names('tags=a', version='2.26'))
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         self.names('not-tags=a', version='2.26'))

    def test_unknown_parameters_ignored_before_2_75_refused_after(self):
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         self.names('foo=bar', version='2.74'))
        resp = self.request('/servers?foo=bar', version='2.75')
        self.assertEqual(400, resp.status_int)
        self.assertIn('foo', resp.json['badRequest']['message'])
        # A known filter a member may not use is still dropped silently.
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         self.names('host=compute-b', version='2.75'))

    def test_pages_and_next_links(self):
        resp = self.request('/servers?limit=2')
        page = resp.json
        # Newest first.
        self.assertEqual(['web-1', 'vm-b'],
                         [s['name'] for s in page['servers']])
        [link] = page['servers_links']
        self.assertEqual('next', link['rel'])
        url = urllib.parse.urlsplit(link['href'])
        self.assertEqual('/v2.1/servers', url.path)
        self.assertEqual({'limit': ['2'],
                          'marker': [self.servers['vm-b'].uuid]},
                         urllib.parse.parse_qs(url.query))
        resp = self.request('/servers?' + url.query)
        self.assertEqual(['vm-a'], [s['name'] for s in resp.json['servers']])
        self.assertNotIn('servers_links', resp.json)

        detail = self.request('/servers/detail?limit=1&status=ERROR').json
        self.assertEqual(['vm-b'], [s['name'] for s in detail['servers']])
        self.assertIn('/v2.1/servers/detail?',
                      detail['servers_links'][0]['href'])
        self.assertIn('status=ERROR', detail['servers_links'][0]['href'])

    def test_bad_paging(self):
        self.assertEqual(400, self.status('/servers?marker=nope'))
        self.assertEqual(400, self.status('/servers?limit=-1'))
        self.assertEqual(400, self.status('/servers?limit=x'))

    def test_sort(self):
        resp = self.request('/servers?sort_key=display_name&sort_dir=asc')
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         [s['name'] for s in resp.json['servers']])
        self.assertEqual(403, self.status('/servers?sort_key=host'))
        self.assertEqual(400, self.status('/servers?sort_key=bogus'))


class TestUpdate(ServersAPITestCase):

    def _put(self, body, token=OWNER, version='2.1', server='vm-a'):
        return self.request('/servers/%s' % self.servers[server].uuid,
                            'PUT', body, token, version)

    def test_rename(self):
        resp = self._put({'server': {'name': 'renamed'}})
        self.assertEqual(200, resp.status_int, resp.text)
        self.assertEqual('renamed', resp.json['server']['name'])
        # The 2.1 view: neither description nor locked.
        self.assertNotIn('description', resp.json['server'])
        self.assertNotIn('locked', resp.json['server'])
        self.assertEqual('renamed', objects.Instance.get_by_uuid(
            self.context, self.servers['vm-a'].uuid).display_name)

    def test_description_from_2_19(self):
        self.assertEqual(400, self._put(
            {'server': {'description': 'd'}}, version='2.18').status_int)
        resp = self._put({'server': {'description': 'web tier'}},
                         version='2.19')
        self.assertEqual(200, resp.status_int)
        self.assertEqual('web tier', resp.json['server']['description'])
        resp = self._put({'server': {'description': None}}, version='2.19')
        self.assertIsNone(resp.json['server']['description'])
        shown = self.request('/servers/%s' % self.servers['vm-a'].uuid,
                             version='2.19').json['server']
        self.assertIsNone(shown['description'])

    def test_bad_names(self):
        for name in ('', ' lead', 'trail ', 'x' * 256, 'a\x01b'):
            self.assertEqual(400, self._put({'server': {'name': name}})
                             .status_int, repr(name))
        self.assertEqual(400, self._put({'server': {'bogus': 1}})
                         .status_int)

    def test_other_projects_server_is_404(self):
        self.assertEqual(404, self._put({'server': {'name': 'x'}},
                                        token=OTHER).status_int)

    def test_full_view_from_2_75(self):
        basic = self._put({'server': {'name': 'n'}}, token=ADMIN,
                          version='2.74').json['server']
        self.assertNotIn('OS-EXT-STS:vm_state', basic)
        full = self._put({'server': {'name': 'n'}}, token=ADMIN,
                         version='2.75').json['server']
        self.assertEqual('compute-a', full['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('active', full['OS-EXT-STS:vm_state'])


class TestLock(ServersAPITestCase):

    def _action(self, body, token=OWNER, version='2.1', server='vm-a'):
        return self.request('/servers/%s/action' % self.servers[server].uuid,
                            'POST', body, token, version)

    def _show(self, version='2.73', server='vm-a', token=OWNER):
        return self.request('/servers/%s' % self.servers[server].uuid,
                            token=token, version=version).json['server']

    def test_owner_lock_refuses_the_owners_actions(self):
        self.assertEqual(202, self._action({'lock': None}).status_int)
        self.assertTrue(self._show('2.9')['locked'])
        stored = objects.Instance.get_by_uuid(self.context,
                                              self.servers['vm-a'].uuid)
        self.assertEqual('owner', stored.locked_by)
        for body in ({'os-stop': None}, {'confirmResize': None},
                     {'revertResize': None}, {'reboot': {'type': 'SOFT'}}):
            resp = self._action(body)
            self.assertEqual(409, resp.status_int, body)
            self.assertIn('locked', resp.json['conflictingRequest']
                          ['message'])
        self.assertEqual(409, self.status(
            '/servers/%s' % self.servers['vm-a'].uuid, method='DELETE'))
        self.compute.delete.assert_not_called()
        self.compute.stop.assert_not_called()
        # Renaming is not an action on the guest: allowed, as in Nova.
        self.assertEqual(200, self.status(
            '/servers/%s' % self.servers['vm-a'].uuid, method='PUT',
            body={'server': {'name': 'still-mine'}}))
        self.assertEqual(202, self._action({'unlock': None}).status_int)
        self.assertFalse(self._show('2.9')['locked'])
        self.assertEqual(204, self.status(
            '/servers/%s' % self.servers['vm-a'].uuid, method='DELETE'))
        self.compute.delete.assert_called_once()

    def test_admin_lock_owner_cannot_unlock(self):
        self.assertEqual(202, self._action({'lock': None}, token=ADMIN)
                         .status_int)
        self.assertEqual(403, self._action({'unlock': None}).status_int)
        self.assertTrue(self._show('2.9')['locked'])
        # An administrator acts on a locked server.
        self.assertEqual(202, self._action({'migrate': None}, token=ADMIN)
                         .status_int)
        self.assertEqual(204, self.status(
            '/servers/%s' % self.servers['vm-a'].uuid, method='DELETE',
            token=ADMIN))
        self.assertEqual(202, self._action({'unlock': None}, token=ADMIN)
                         .status_int)
        self.assertFalse(self._show('2.9')['locked'])

    def test_admin_lock_replaces_owner_lock(self):
        self._action({'lock': None})
        self._action({'lock': None}, token=ADMIN)
        self.assertEqual(403, self._action({'unlock': None}).status_int)

    def test_locked_reason_from_2_73(self):
        body = {'lock': {'locked_reason': 'maintenance'}}
        self.assertEqual(202, self._action(body, version='2.73').status_int)
        shown = self._show()
        self.assertEqual((True, 'maintenance'),
                         (shown['locked'], shown['locked_reason']))
        self.assertNotIn('locked_reason', self._show('2.72'))
        self._action({'unlock': None}, version='2.73')
        self.assertIsNone(self._show()['locked_reason'])

    def test_lock_schema(self):
        self.assertEqual(400, self._action(
            {'lock': {'bogus': 1}}, version='2.73').status_int)
        self.assertEqual(400, self._action(
            {'lock': {'locked_reason': ''}}, version='2.73').status_int)
        # Before 2.73 the argument is not read.
        self.assertEqual(202, self._action(
            {'lock': {'locked_reason': 'x'}}, version='2.72').status_int)
        self.assertIsNone(objects.Instance.get_by_uuid(
            self.context, self.servers['vm-a'].uuid).locked_reason)

    def test_other_project_cannot_lock(self):
        self.assertEqual(404, self._action({'lock': None}, token=OTHER)
                         .status_int)

    def test_lock_is_recorded_as_an_action(self):
        ctxt = nova_context.RequestContext('alice', 'p1')
        self._action({'lock': None})
        actions = objects.InstanceActionList.get_by_instance_uuid(
            ctxt, self.servers['vm-a'].uuid)
        self.assertEqual(['lock'], [a.action for a in actions])


class CreateTestBase(ServersAPITestCase):
    """POST /servers makes a BUILDING instance on compute-a."""

    def setUp(self):
        super().setUp()
        self.compute.create = mock.Mock(side_effect=self._fake_create)

    def _fake_create(self, context, flavor, name, image_ref=None,
                     image_meta=None):
        return self._server(name, context.project_id, flavor.flavorid,
                            'compute-a', vm_states.BUILDING,
                            image_ref=image_ref)


class TestCreate(CreateTestBase):

    def _post(self, version, **server):
        server.setdefault('name', 'new')
        server.setdefault('flavorRef', 'f1')
        server.setdefault('imageRef', 'cirros')
        return self.request('/servers', 'POST', {'server': server},
                            version=version)

    def test_answer(self):
        resp = self._post('2.1')
        self.assertEqual(202, resp.status_int, resp.text)
        body = resp.json['server']
        self.assertEqual({'id', 'links', 'OS-DCF:diskConfig',
                          'security_groups', 'adminPass'}, set(body))
        self.assertEqual([{'name': 'default'}], body['security_groups'])
        self.assertTrue(body['adminPass'])

    def test_admin_pass_asked_for_is_answered(self):
        resp = self._post('2.1', adminPass='s3cret')
        self.assertEqual(202, resp.status_int, resp.text)
        self.assertEqual('s3cret', resp.json['server']['adminPass'])
        self.assertEqual(400, self._post('2.1', adminPass=7).status_int)

    def test_description_from_2_19(self):
        self.assertEqual(400, self._post('2.18', description='d')
                         .status_int)
        resp = self._post('2.19', description='web tier')
        self.assertEqual(202, resp.status_int)
        shown = self.request('/servers/%s' % resp.json['server']['id'],
                             version='2.19').json['server']
        self.assertEqual('web tier', shown['description'])

    def test_a_private_flavor_needs_access(self):
        private = self.flavors['private'] = self._flavor('private',
                                                        is_public=False)
        # As Nova: a flavor the project may not use is as unknown (400).
        resp = self._post('2.1', flavorRef='private')
        self.assertEqual(400, resp.status_int, resp.text)
        self.assertIn('private', resp.json['badRequest']['message'])
        self.compute.create.assert_not_called()
        private.add_access('p1')
        self.assertEqual(202, self._post('2.1', flavorRef='private')
                         .status_int)

    def test_networks_required_from_2_37(self):
        self.assertEqual(202, self._post('2.36').status_int)
        resp = self._post('2.37')
        self.assertEqual(400, resp.status_int)
        self.assertIn('networks', resp.json['badRequest']['message'])
        self.assertEqual(202, self._post('2.37', networks='none')
                         .status_int)


class TestMoreListRules(ServersAPITestCase):

    def test_user_id_filter_for_members_from_2_83(self):
        self.servers['vm-a'].user_id = 'someone-else'
        self.servers['vm-a'].save()
        self.assertEqual(['vm-a', 'vm-b', 'web-1'],
                         self.names('user_id=someone-else', version='2.82'))
        self.assertEqual(['vm-a'],
                         self.names('user_id=someone-else', version='2.83'))

    def test_host_status_of_the_compute_service(self):
        path = '/servers/%s' % self.servers['vm-a'].uuid

        def host_status(token=ADMIN):
            return self.request(path, token=token,
                                version='2.16').json['server'].get(
                                    'host_status')

        # No service on record for the host: nothing known of it.
        self.assertEqual('', host_status())
        service = objects.Service(self.context, host='compute-a',
                                  binary='nova-compute', topic='compute')
        service.create()
        self.assertEqual('UP', host_status())
        self.assertIsNone(host_status(token=OWNER))
        service.disabled = True
        service.save()
        self.assertEqual('MAINTENANCE', host_status())
        service.forced_down = True
        service.save()
        self.assertEqual('DOWN', host_status())


class TestFault(ServersAPITestCase):
    """The newest fault is read for a server that shows it, only."""

    def setUp(self):
        super().setUp()
        for name in ('vm-a', 'vm-b'):
            db.instance_fault_create(self.context, {
                'instance_uuid': self.servers[name].uuid, 'code': 500,
                'message': 'qemu on fire at %s' % name, 'details': ''})
        self.reads = []
        real = db.instance_fault_get_by_instance_uuids

        def counted(context, uuids, *args, **kwargs):
            self.reads.append(list(uuids))
            return real(context, uuids, *args, **kwargs)
        patcher = mock.patch.object(db, 'instance_fault_get_by_instance_uuids',
                                    counted)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _show(self, name):
        resp = self.request('/servers/%s' % self.servers[name].uuid)
        self.assertEqual(200, resp.status_int, resp.text)
        return resp.json['server']

    def test_error_server_shows_its_fault(self):
        server = self._show('vm-b')
        self.assertEqual('qemu on fire at vm-b', server['fault']['message'])
        self.assertEqual([[self.servers['vm-b'].uuid]], self.reads)

    def test_active_server_reads_no_fault(self):
        self.assertNotIn('fault', self._show('vm-a'))
        resp = self.request('/servers/%s/action' % self.servers['vm-a'].uuid,
                            'POST', {'os-stop': None})
        self.assertEqual(202, resp.status_int, resp.text)
        self.assertEqual([], self.reads)

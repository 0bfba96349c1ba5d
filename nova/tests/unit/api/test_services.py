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

"""``/os-services`` at every microversion where Nova's shape changes.

Responses are checked against tempest's own response schemas (the ones
tempest validates Nova with) when tempest is installed.
"""

import datetime
import importlib
import json
from unittest import mock

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils
import webob

from nova.api import wsgi
from nova import context as nova_context
from nova.db import api as db
from nova import exception
from nova import objects
from nova.scheduler.client import report
from nova import test

ADMIN, MEMBER = 'admin', 'alice:proj'


def tempest_schema(version_dir, module):
    """tempest's response schema module ``v2_X/<module>``."""
    return importlib.import_module(
        'tempest.lib.api_schema.response.compute.%s.%s'
        % (version_dir, module))


class AdminAPITestBase(test.TestCase):
    """The real API application and database; hosts made by hand."""

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='noauth2')
        self.context = nova_context.get_admin_context()

    def add_service(self, host, binary='nova-compute', **values):
        service = objects.Service(self.context, host=host, binary=binary,
                                  topic=binary[len('nova-'):], **values)
        service.create()
        service.last_seen_up = timeutils.utcnow()
        service.save()
        return service

    def add_node(self, host, **values):
        defaults = dict(hypervisor_hostname=host, hypervisor_type='QEMU',
                        hypervisor_version=8002000, vcpus=8,
                        memory_mb=16384, local_gb=100, vcpus_used=1,
                        memory_mb_used=2048, local_gb_used=10,
                        cpu_info=json.dumps({'arch': 'x86_64',
                                             'model': 'Skylake'}),
                        host_ip='192.0.2.10')
        defaults.update(values)
        node = objects.ComputeNode(self.context, host=host, **defaults)
        node.create()
        return node

    def add_instance(self, host, node=None, **values):
        record = {'uuid': uuidutils.generate_uuid(), 'user_id': 'u',
                  'project_id': 'p', 'display_name': 'vm', 'host': host,
                  'node': node or host, 'vm_state': 'active',
                  'memory_mb': 128, 'vcpus': 1, 'root_gb': 0,
                  'ephemeral_gb': 0}
        record.update(values)
        return db.instance_create(self.context, record)

    def call(self, method, path, version='2.1', body=None, token=ADMIN):
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = 'compute %s' % version
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        return req.get_response(self.app)

    def ok(self, method, path, version='2.1', body=None, status=200):
        resp = self.call(method, path, version, body)
        self.assertEqual(status, resp.status_int, resp.text)
        return resp.json if resp.body else None

    def refused(self, status, method, path, version='2.1', body=None,
                says=None):
        resp = self.call(method, path, version, body)
        self.assertEqual(status, resp.status_int, resp.text)
        if says:
            self.assertIn(says, resp.text)
        return resp

    def assert_schema(self, version_dir, module, name, body, status=200):
        schemas = tempest_schema(version_dir, module)
        from tempest.lib.common import rest_client
        rest_client.RestClient.validate_response(
            getattr(schemas, name), mock.Mock(status=status), body)


class ServicesListTestCase(AdminAPITestBase):

    def setUp(self):
        super().setUp()
        self.compute = self.add_service('compute-a')
        self.add_service('compute-b', disabled=True,
                         disabled_reason='maintenance')
        self.conductor = self.add_service('conductor',
                                          binary='nova-conductor')

    def test_2_1_integer_ids_no_forced_down(self):
        for version in ('2.1', '2.10'):
            body = self.ok('GET', '/os-services', version)
            self.assert_schema('v2_1', 'services', 'list_services', body)
            row = body['services'][0]
            self.assertEqual(self.compute.id, row['id'])
            self.assertNotIn('forced_down', row)
            self.assertNotIn('version', row)
            self.assertNotIn('vpmem_live_migration', row)

    def test_2_11_adds_forced_down(self):
        for version in ('2.11', '2.52'):
            body = self.ok('GET', '/os-services', version)
            self.assert_schema('v2_11', 'services', 'list_services', body)
            self.assertEqual([False] * 3,
                             [s['forced_down'] for s in body['services']])
            self.assertEqual(self.compute.id, body['services'][0]['id'])

    def test_2_53_uuid_ids(self):
        for version in ('2.53', '2.100'):
            body = self.ok('GET', '/os-services', version)
            self.assert_schema('v2_53', 'services', 'list_services', body)
            self.assertEqual(self.compute.uuid, body['services'][0]['id'])

    def test_row_values(self):
        rows = {s['host']: s for s in
                self.ok('GET', '/os-services', '2.53')['services']}
        self.assertEqual(
            {'binary': 'nova-compute', 'zone': 'nova', 'status': 'enabled',
             'state': 'up', 'disabled_reason': None, 'forced_down': False},
            {k: rows['compute-a'][k] for k in (
                'binary', 'zone', 'status', 'state', 'disabled_reason',
                'forced_down')})
        self.assertEqual(('disabled', 'maintenance'),
                         (rows['compute-b']['status'],
                          rows['compute-b']['disabled_reason']))
        self.assertEqual('internal', rows['conductor']['zone'])

    def test_filters(self):
        def hosts(query):
            return sorted(s['host'] for s in self.ok(
                'GET', '/os-services' + query)['services'])
        self.assertEqual(['compute-a'], hosts('?host=compute-a'))
        self.assertEqual(['conductor'], hosts('?binary=nova-conductor'))
        self.assertEqual(['compute-b'],
                         hosts('?host=compute-b&binary=nova-compute'))
        self.assertEqual([], hosts('?host=compute-a&binary=nova-conductor'))
        self.assertEqual([], hosts('?host=nowhere'))

    def test_unknown_query_parameter_refused_from_2_75(self):
        self.assertEqual(3, len(self.ok('GET', '/os-services?colour=red',
                                        '2.74')['services']))
        self.refused(400, 'GET', '/os-services?colour=red', '2.75',
                     says='colour')

    def test_down_and_forced_down(self):
        self.compute.last_seen_up = timeutils.utcnow() - datetime.timedelta(
            hours=1)
        self.compute.save()
        rows = self.ok('GET', '/os-services?host=compute-a', '2.11')
        self.assertEqual('down', rows['services'][0]['state'])

    def test_admin_only(self):
        resp = self.call('GET', '/os-services', token=MEMBER)
        self.assertEqual(403, resp.status_int)


class LegacyActionsTestCase(AdminAPITestBase):
    """PUT /os-services/{enable,disable,disable-log-reason,force-down}."""

    def setUp(self):
        super().setUp()
        self.compute = self.add_service('compute-a')
        self.add_service('conductor', binary='nova-conductor')
        self.target = {'host': 'compute-a', 'binary': 'nova-compute'}

    def stored(self):
        return objects.Service.get_by_id(self.context, self.compute.id)

    def test_disable_then_enable(self):
        for version in ('2.1', '2.52'):
            body = self.ok('PUT', '/os-services/disable', version,
                           self.target)
            self.assert_schema('v2_1', 'services', 'enable_disable_service',
                               body)
            self.assertEqual(dict(self.target, status='disabled'),
                             body['service'])
            self.assertTrue(self.stored().disabled)
            body = self.ok('PUT', '/os-services/enable', version,
                           self.target)
            self.assert_schema('v2_1', 'services', 'enable_disable_service',
                               body)
            self.assertEqual('enabled', body['service']['status'])
            self.assertFalse(self.stored().disabled)

    def test_disable_log_reason(self):
        body = self.ok('PUT', '/os-services/disable-log-reason', '2.1',
                       dict(self.target, disabled_reason='bad DIMM'))
        self.assert_schema('v2_1', 'services', 'disable_log_reason', body)
        self.assertEqual('bad DIMM', body['service']['disabled_reason'])
        stored = self.stored()
        self.assertEqual((True, 'bad DIMM'),
                         (stored.disabled, stored.disabled_reason))
        # Enabling forgets the reason.
        self.ok('PUT', '/os-services/enable', '2.1', self.target)
        self.assertIsNone(self.stored().disabled_reason)

    def test_disable_log_reason_needs_a_reason(self):
        self.refused(400, 'PUT', '/os-services/disable-log-reason', '2.1',
                     self.target, says='disabled_reason')
        self.assertFalse(self.stored().disabled)

    def test_bad_bodies(self):
        self.refused(400, 'PUT', '/os-services/disable', '2.1',
                     {'host': 'compute-a'})
        self.refused(400, 'PUT', '/os-services/disable', '2.1',
                     dict(self.target, colour='red'))
        # forced_down is only known from 2.11.
        self.refused(400, 'PUT', '/os-services/disable', '2.10',
                     dict(self.target, forced_down=True))

    def test_only_computes(self):
        self.refused(400, 'PUT', '/os-services/disable', '2.1',
                     {'host': 'conductor', 'binary': 'nova-conductor'},
                     says='only nova-compute')

    def test_unknown_service(self):
        self.refused(404, 'PUT', '/os-services/disable', '2.1',
                     {'host': 'nowhere', 'binary': 'nova-compute'},
                     says='nowhere')

    def test_force_down_from_2_11(self):
        self.refused(404, 'PUT', '/os-services/force-down', '2.10',
                     dict(self.target, forced_down=True),
                     says='Unknown action force-down')
        body = self.ok('PUT', '/os-services/force-down', '2.11',
                       dict(self.target, forced_down=True))
        self.assert_schema('v2_11', 'services', 'update_forced_down', body)
        self.assertEqual(dict(self.target, forced_down=True),
                         body['service'])
        # Down at once, whatever its heartbeats say.
        row = self.ok('GET', '/os-services?host=compute-a',
                      '2.11')['services'][0]
        self.assertEqual(('down', True), (row['state'], row['forced_down']))
        body = self.ok('PUT', '/os-services/force-down', '2.52',
                       dict(self.target, forced_down='false'))
        self.assertIs(False, body['service']['forced_down'])
        self.assertEqual('up', self.ok(
            'GET', '/os-services?host=compute-a', '2.11')[
                'services'][0]['state'])

    def test_force_down_needs_the_flag(self):
        self.refused(400, 'PUT', '/os-services/force-down', '2.11',
                     self.target, says='forced_down')
        self.refused(400, 'PUT', '/os-services/force-down', '2.11',
                     dict(self.target, forced_down='maybe'))

    def test_gone_from_2_53(self):
        # From 2.53 the path is PUT /os-services/{service_id}.
        self.refused(400, 'PUT', '/os-services/disable', '2.53',
                     self.target, says='Additional properties')
        self.refused(400, 'PUT', '/os-services/disable', '2.53',
                     {'status': 'disabled'}, says='Invalid uuid disable')
        self.refused(404, 'PUT', '/os-services/%s' % self.compute.uuid,
                     '2.52', {'status': 'disabled'}, says='Unknown action')
        self.assertFalse(self.stored().disabled)

    def test_admin_only(self):
        resp = self.call('PUT', '/os-services/disable', '2.1', self.target,
                         token=MEMBER)
        self.assertEqual(403, resp.status_int)
        self.assertFalse(self.stored().disabled)


class UpdateTestCase(AdminAPITestBase):
    """PUT /os-services/{service_id} (2.53)."""

    def setUp(self):
        super().setUp()
        self.compute = self.add_service('compute-a')
        self.conductor = self.add_service('conductor',
                                          binary='nova-conductor')
        self.path = '/os-services/%s' % self.compute.uuid

    def update(self, body, version='2.53'):
        result = self.ok('PUT', self.path, version, body)
        self.assert_schema('v2_53', 'services', 'update_service', result)
        return result['service']

    def test_disable_with_reason_then_enable(self):
        service = self.update({'status': 'disabled',
                               'disabled_reason': 'maintenance'})
        self.assertEqual(
            (self.compute.uuid, 'disabled', 'maintenance', 'up', 'nova'),
            (service['id'], service['status'], service['disabled_reason'],
             service['state'], service['zone']))
        service = self.update({'status': 'enabled'}, version='2.100')
        self.assertEqual(('enabled', None),
                         (service['status'], service['disabled_reason']))

    def test_forced_down(self):
        service = self.update({'forced_down': True})
        self.assertEqual((True, 'down'),
                         (service['forced_down'], service['state']))
        service = self.update({'forced_down': 'no', 'status': 'enabled'})
        self.assertEqual((False, 'up'),
                         (service['forced_down'], service['state']))

    def test_refusals(self):
        self.refused(400, 'PUT', self.path, '2.53',
                     {'status': 'enabled', 'disabled_reason': 'x'},
                     says='only accepted with status')
        self.refused(400, 'PUT', self.path, '2.53',
                     {'disabled_reason': 'x'})
        self.refused(400, 'PUT', self.path, '2.53', {}, says='Nothing')
        self.refused(400, 'PUT', self.path, '2.53', {'status': 'off'})
        self.refused(400, 'PUT', self.path, '2.53',
                     {'status': 'enabled', 'colour': 'red'})
        self.refused(400, 'PUT', '/os-services/%s' % self.conductor.uuid,
                     '2.53', {'status': 'disabled'},
                     says='nova-conductor service is not supported')
        self.refused(404, 'PUT', '/os-services/%s'
                     % uuidutils.generate_uuid(), '2.53',
                     {'status': 'disabled'})
        self.refused(400, 'PUT', '/os-services/%s' % self.compute.id,
                     '2.53', {'status': 'disabled'}, says='Invalid uuid')
        self.assertFalse(objects.Service.get_by_id(
            self.context, self.compute.id).disabled)


class DeleteTestCase(AdminAPITestBase):

    def setUp(self):
        super().setUp()
        self.compute = self.add_service('compute-a')
        self.node = self.add_node('compute-a')
        self.reportclient = mock.Mock(spec=report.SchedulerReportClient)
        self.reportclient.get_provider_allocations.return_value = {}
        self.useFixture(fixtures.MonkeyPatch(
            'nova.scheduler.client.report.SchedulerReportClient',
            lambda: self.reportclient))

    def assert_kept(self):
        self.assertEqual(self.compute.id, objects.Service.get_by_id(
            self.context, self.compute.id).id)
        self.assertEqual(1, len(objects.ComputeNodeList.get_all_by_host(
            self.context, 'compute-a')))
        self.reportclient.delete_resource_provider.assert_not_called()

    def assert_removed(self):
        self.assertRaises(exception.ServiceNotFound, objects.Service.get_by_id,
                          self.context, self.compute.id)
        self.assertEqual([], list(objects.ComputeNodeList.get_all_by_host(
            self.context, 'compute-a')))
        self.reportclient.delete_resource_provider.assert_called_once_with(
            mock.ANY, self.node.uuid)

    def test_delete_by_integer_id_before_2_53(self):
        self.assertIsNone(self.ok('DELETE', '/os-services/%s'
                                  % self.compute.id, '2.52', status=204))
        self.assert_removed()

    def test_delete_by_uuid_from_2_53(self):
        self.refused(400, 'DELETE', '/os-services/%s' % self.compute.id,
                     '2.53', says='Invalid uuid')
        self.refused(400, 'DELETE', '/os-services/%s' % self.compute.uuid,
                     '2.52', says='integer')
        self.assert_kept()
        self.ok('DELETE', '/os-services/%s' % self.compute.uuid, '2.53',
                status=204)
        self.assert_removed()

    def test_unknown(self):
        self.refused(404, 'DELETE', '/os-services/999', '2.1')
        self.refused(404, 'DELETE', '/os-services/%s'
                     % uuidutils.generate_uuid(), '2.53')

    def test_refused_while_hosting_instances(self):
        instance = self.add_instance('compute-a')
        self.refused(409, 'DELETE', '/os-services/%s' % self.compute.id,
                     '2.1', says='hosts instances')
        self.assert_kept()
        db.instance_destroy(self.context, instance['uuid'])
        self.ok('DELETE', '/os-services/%s' % self.compute.id, status=204)
        self.assert_removed()

    def test_refused_during_a_migration(self):
        instance = self.add_instance('compute-b')
        migration = objects.Migration(
            self.context, instance_uuid=instance['uuid'],
            migration_type='live-migration', status='running',
            source_compute='compute-b', source_node='compute-b',
            dest_compute='compute-a', dest_node='compute-a')
        migration.create()
        self.refused(409, 'DELETE', '/os-services/%s' % self.compute.id,
                     '2.1', says=migration.uuid)
        self.assert_kept()
        migration.status = 'completed'
        migration.save()
        self.ok('DELETE', '/os-services/%s' % self.compute.id, status=204)
        self.assert_removed()

    def test_refused_while_placement_holds_quarantined_namespaces(self):
        self.reportclient.get_provider_allocations.return_value = {
            report.quarantine_consumer(self.node.uuid): {'CUSTOM_X': 1}}
        self.refused(409, 'DELETE', '/os-services/%s' % self.compute.id,
                     '2.1', says='nova-manage vpmem retry-erase compute-a')
        self.assert_kept()

    def add_namespace(self, name, state):
        record = objects.VPMEMNamespace(
            self.context, compute_node_uuid=self.node.uuid, host='compute-a',
            resource_class='CUSTOM_PMEM_NAMESPACE_SMALL', name=name,
            state=state)
        record.create()
        return record

    def test_refused_while_a_namespace_is_not_free(self):
        self.add_namespace('ns0', 'free')
        self.add_namespace('ns1', 'quarantined')
        self.refused(409, 'DELETE', '/os-services/%s' % self.compute.id,
                     '2.1', says='ns1 (quarantined)')
        self.assert_kept()
        self.assertEqual(2, len(objects.VPMEMNamespaceList.get_all(
            self.context)))

    def test_free_namespace_records_go_with_the_node(self):
        self.add_namespace('ns0', 'free')
        self.add_namespace('ns1', 'free')
        self.ok('DELETE', '/os-services/%s' % self.compute.id, status=204)
        self.assert_removed()
        self.assertEqual([], list(objects.VPMEMNamespaceList.get_all(
            self.context)))

    def test_refused_while_placement_holds_other_allocations(self):
        self.reportclient.get_provider_allocations.return_value = {
            'leftover-consumer': {'VCPU': 1}}
        self.refused(409, 'DELETE', '/os-services/%s' % self.compute.id,
                     '2.1', says='leftover-consumer')
        self.assert_kept()

    def test_other_services_have_no_node(self):
        conductor = self.add_service('conductor', binary='nova-conductor')
        self.ok('DELETE', '/os-services/%s' % conductor.uuid, '2.53',
                status=204)
        self.reportclient.delete_resource_provider.assert_not_called()
        self.assertEqual(['compute-a'], [
            s.host for s in objects.ServiceList.get_all(self.context)])

    def test_admin_only(self):
        resp = self.call('DELETE', '/os-services/%s' % self.compute.id,
                         token=MEMBER)
        self.assertEqual(403, resp.status_int)
        self.assert_kept()

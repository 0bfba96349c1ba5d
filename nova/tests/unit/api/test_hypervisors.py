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

"""``/os-hypervisors`` at every microversion where Nova's shape changes.

Checked against tempest's response schemas (2.1, 2.28, 2.33, 2.53); 2.88
has no tempest schema, so the 2.53 one is checked with the statistics
removed, as Nova's 2.88 removed them.
"""

import copy
from unittest import mock
import urllib.parse

import fixtures
import oslo_messaging as messaging
from oslo_utils import uuidutils

from nova.api.handlers import hypervisor_views
from nova.compute import rpcapi as compute_rpcapi
from nova.tests.unit.api import test_services

UPTIME = ' 08:32:11 up 93 days, 18:25, 12 users,  load average: 0.20\n'

DETAIL_2_1_KEYS = {
    'id', 'hypervisor_hostname', 'state', 'status', 'cpu_info', 'vcpus',
    'memory_mb', 'local_gb', 'vcpus_used', 'memory_mb_used',
    'local_gb_used', 'hypervisor_type', 'hypervisor_version',
    'free_ram_mb', 'free_disk_gb', 'current_workload', 'running_vms',
    'disk_available_least', 'host_ip', 'service'}


class HypervisorsTestBase(test_services.AdminAPITestBase):

    def setUp(self):
        super().setUp()
        self.services = {h: self.add_service(h)
                         for h in ('compute-a', 'compute-b')}
        self.nodes = {h: self.add_node(h) for h in ('compute-a',
                                                    'compute-b')}
        self.add_service('conductor', binary='nova-conductor')
        self.vm = self.add_instance('compute-a', display_name='vm1',
                                    task_state='migrating')
        self.add_instance('compute-a', display_name='vm2')
        self.uptime = self.useFixture(fixtures.MockPatchObject(
            compute_rpcapi.ComputeAPI, 'get_host_uptime',
            return_value=UPTIME)).mock

    def id_of(self, host, version):
        node = self.nodes[host]
        return node.uuid if version >= (2, 53) else node.id

    def assert_schema_2_88(self, name, body):
        # tempest's newest hypervisor schema (2.53) with what 2.88 removed.
        schemas = test_services.tempest_schema('v2_53', 'hypervisors')
        schema = copy.deepcopy(getattr(schemas, name))
        detail = (schema['response_body']['properties']['hypervisor']
                  if name == 'get_hypervisor' else
                  schema['response_body']['properties']['hypervisors'][
                      'items'])
        for key in hypervisor_views.STATISTICS_KEYS + ('cpu_info',):
            del detail['properties'][key]
            detail['required'].remove(key)
        if name == 'get_hypervisor':
            detail['properties']['uptime'] = {'type': ['string', 'null']}
            detail['required'].append('uptime')
        from tempest.lib.common import rest_client
        rest_client.RestClient.validate_response(
            schema, mock.Mock(status=200), body)


class ListAndShowTestCase(HypervisorsTestBase):

    # (microversion, tempest schema directory)
    SCHEMAS = (('2.1', 'v2_1'), ('2.27', 'v2_1'), ('2.28', 'v2_28'),
               ('2.33', 'v2_33'), ('2.52', 'v2_33'), ('2.53', 'v2_53'),
               ('2.87', 'v2_53'))

    def test_list_views_validate(self):
        for version, schemas in self.SCHEMAS:
            body = self.ok('GET', '/os-hypervisors', version)
            self.assert_schema(schemas, 'hypervisors',
                               'list_search_hypervisors', body)
            self.assertEqual({'id', 'hypervisor_hostname', 'state',
                              'status'}, set(body['hypervisors'][0]))
            body = self.ok('GET', '/os-hypervisors/detail', version)
            self.assert_schema(schemas, 'hypervisors',
                               'list_hypervisors_detail', body)
            self.assertEqual(DETAIL_2_1_KEYS, set(body['hypervisors'][0]))
            vid = tuple(int(p) for p in version.split('.'))
            body = self.ok('GET', '/os-hypervisors/%s'
                           % self.id_of('compute-a', vid), version)
            self.assert_schema(schemas, 'hypervisors', 'get_hypervisor',
                               body)
            self.assertNotIn('uptime', body['hypervisor'])

    def test_detail_values(self):
        row = self.ok('GET', '/os-hypervisors/%s' % self.nodes['compute-a'].id,
                      '2.1')['hypervisor']
        self.assertEqual(
            {'id': self.nodes['compute-a'].id,
             'hypervisor_hostname': 'compute-a', 'state': 'up',
             'status': 'enabled', 'host_ip': '192.0.2.10',
             'vcpus': 8, 'vcpus_used': 1, 'memory_mb': 16384,
             'memory_mb_used': 2048, 'free_ram_mb': 14336, 'local_gb': 100,
             'local_gb_used': 10, 'free_disk_gb': 90,
             'disk_available_least': 90, 'running_vms': 2,
             'current_workload': 1, 'hypervisor_type': 'QEMU',
             'hypervisor_version': 8002000},
            {k: row[k] for k in (
                'id', 'hypervisor_hostname', 'state', 'status', 'host_ip',
                'vcpus', 'vcpus_used', 'memory_mb', 'memory_mb_used',
                'free_ram_mb', 'local_gb', 'local_gb_used', 'free_disk_gb',
                'disk_available_least', 'running_vms', 'current_workload',
                'hypervisor_type', 'hypervisor_version')})
        self.assertEqual({'host': 'compute-a',
                          'id': self.services['compute-a'].id,
                          'disabled_reason': None}, row['service'])

    def test_cpu_info_string_then_object(self):
        path = '/os-hypervisors/%s' % self.nodes['compute-a'].id
        info = self.ok('GET', path, '2.27')['hypervisor']['cpu_info']
        self.assertIsInstance(info, str)
        self.assertEqual({'arch': 'x86_64', 'model': 'Skylake'},
                         self.ok('GET', path, '2.28')['hypervisor'][
                             'cpu_info'])

    def test_uuids_from_2_53(self):
        row = self.ok('GET', '/os-hypervisors/detail',
                      '2.53')['hypervisors'][0]
        self.assertEqual(self.nodes['compute-a'].uuid, row['id'])
        self.assertEqual(self.services['compute-a'].uuid,
                         row['service']['id'])
        # Ids of the other kind are refused, as Nova does.
        self.refused(400, 'GET', '/os-hypervisors/%s'
                     % self.nodes['compute-a'].id, '2.53',
                     says='Invalid uuid')
        self.refused(404, 'GET', '/os-hypervisors/%s'
                     % self.nodes['compute-a'].uuid, '2.52')
        self.refused(404, 'GET', '/os-hypervisors/%s'
                     % uuidutils.generate_uuid(), '2.53')
        self.refused(404, 'GET', '/os-hypervisors/999', '2.1')

    def test_2_88_drops_statistics_and_shows_uptime(self):
        for version in ('2.88', '2.100'):
            body = self.ok('GET', '/os-hypervisors/detail', version)
            self.assert_schema_2_88('list_hypervisors_detail', body)
            self.assertEqual(
                {'id', 'hypervisor_hostname', 'state', 'status',
                 'hypervisor_type', 'hypervisor_version', 'host_ip',
                 'service'}, set(body['hypervisors'][0]))
            body = self.ok('GET', '/os-hypervisors/%s'
                           % self.nodes['compute-a'].uuid, version)
            self.assert_schema_2_88('get_hypervisor', body)
            self.assertEqual(UPTIME, body['hypervisor']['uptime'])
        self.uptime.assert_called_with(mock.ANY, 'compute-a')

    def test_2_88_uptime_unknown_when_the_host_is_down(self):
        service = self.services['compute-b']
        service.forced_down = True
        service.save()
        body = self.ok('GET', '/os-hypervisors/%s'
                       % self.nodes['compute-b'].uuid, '2.88')
        self.assertIsNone(body['hypervisor']['uptime'])
        self.assertEqual('down', body['hypervisor']['state'])

    def test_disabled_service(self):
        service = self.services['compute-b']
        service.disabled = True
        service.disabled_reason = 'maintenance'
        service.save()
        row = self.ok('GET', '/os-hypervisors/%s'
                      % self.nodes['compute-b'].id)['hypervisor']
        self.assertEqual(('disabled', 'maintenance'),
                         (row['status'], row['service']['disabled_reason']))

    def test_admin_only(self):
        for path in ('', '/detail', '/%s' % self.nodes['compute-a'].id,
                     '/statistics', '/compute/search'):
            resp = self.call('GET', '/os-hypervisors' + path,
                             token=test_services.MEMBER)
            self.assertEqual(403, resp.status_int, path)


class QueryTestCase(HypervisorsTestBase):

    def hosts(self, path, version):
        return [h['hypervisor_hostname'] for h in
                self.ok('GET', path, version)['hypervisors']]

    def test_paging_from_2_33(self):
        # Before 2.33 limit is not known (and ignored).
        self.assertEqual(['compute-a', 'compute-b'],
                         self.hosts('/os-hypervisors?limit=1', '2.32'))
        for version, vid in (('2.33', (2, 33)), ('2.53', (2, 53))):
            body = self.ok('GET', '/os-hypervisors/detail?limit=1', version)
            self.assertEqual(['compute-a'], [
                h['hypervisor_hostname'] for h in body['hypervisors']])
            link = body['hypervisors_links'][0]
            self.assertEqual('next', link['rel'])
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(
                link['href']).query)
            self.assertEqual([str(self.id_of('compute-a', vid))],
                             query['marker'])
            self.assertIn('/os-hypervisors/detail?', link['href'])
            self.assertEqual(['compute-b'], self.hosts(
                '/os-hypervisors?marker=%s' % self.id_of('compute-a', vid),
                version))
        # A page that is not full has no next link.
        self.assertNotIn('hypervisors_links', self.ok(
            'GET', '/os-hypervisors?limit=5', '2.33'))
        self.refused(400, 'GET', '/os-hypervisors?marker=nope', '2.33',
                     says='marker')
        self.refused(400, 'GET', '/os-hypervisors?limit=-1', '2.33')

    def test_hostname_pattern_from_2_53(self):
        self.assertEqual(['compute-b'], self.hosts(
            '/os-hypervisors?hypervisor_hostname_pattern=-b', '2.53'))
        self.assertEqual(['compute-a', 'compute-b'], self.hosts(
            '/os-hypervisors/detail?hypervisor_hostname_pattern=compute',
            '2.53'))
        self.refused(404, 'GET', '/os-hypervisors?'
                     'hypervisor_hostname_pattern=nowhere', '2.53',
                     says='nowhere')
        self.refused(400, 'GET', '/os-hypervisors?'
                     'hypervisor_hostname_pattern=c&limit=1', '2.53',
                     says='Paging')

    def test_with_servers(self):
        body = self.ok('GET', '/os-hypervisors?with_servers=true', '2.53')
        self.assert_schema('v2_53', 'hypervisors', 'list_search_hypervisors',
                           body)
        rows = {h['hypervisor_hostname']: h for h in body['hypervisors']}
        self.assertEqual({'vm1', 'vm2'},
                         {s['name'] for s in rows['compute-a']['servers']})
        self.assertIn(self.vm['uuid'],
                      {s['uuid'] for s in rows['compute-a']['servers']})
        # Before 2.75 a host without servers has no key; from 2.75 [].
        self.assertNotIn('servers', rows['compute-b'])
        rows = {h['hypervisor_hostname']: h for h in self.ok(
            'GET', '/os-hypervisors/detail?with_servers=1',
            '2.75')['hypervisors']}
        self.assertEqual([], rows['compute-b']['servers'])
        body = self.ok('GET', '/os-hypervisors/%s?with_servers=true'
                       % self.nodes['compute-a'].uuid, '2.53')
        self.assert_schema('v2_53', 'hypervisors', 'get_hypervisor', body)
        self.assertEqual(2, len(body['hypervisor']['servers']))
        self.assertNotIn('servers', self.ok('GET', '/os-hypervisors',
                                            '2.53')['hypervisors'][0])
        self.refused(400, 'GET', '/os-hypervisors?with_servers=maybe',
                     '2.53')

    def test_unknown_query_refused_from_2_75(self):
        self.assertEqual(2, len(self.hosts('/os-hypervisors?colour=red',
                                           '2.74')))
        self.refused(400, 'GET', '/os-hypervisors/detail?colour=red',
                     '2.75', says='colour')
        self.refused(400, 'GET', '/os-hypervisors/%s?colour=red'
                     % self.nodes['compute-a'].uuid, '2.75')


class StatisticsUptimeTestCase(HypervisorsTestBase):

    def test_statistics_until_2_87(self):
        for version, schemas in (('2.1', 'v2_1'), ('2.87', 'v2_53')):
            body = self.ok('GET', '/os-hypervisors/statistics', version)
            self.assert_schema(schemas, 'hypervisors',
                               'get_hypervisor_statistics', body)
        stats = body['hypervisor_statistics']
        self.assertEqual(
            {'count': 2, 'vcpus': 16, 'vcpus_used': 2, 'memory_mb': 32768,
             'memory_mb_used': 4096, 'free_ram_mb': 28672, 'local_gb': 200,
             'local_gb_used': 20, 'free_disk_gb': 180,
             'disk_available_least': 180, 'running_vms': 2,
             'current_workload': 1}, stats)
        self.refused(404, 'GET', '/os-hypervisors/statistics', '2.88',
                     says='removed in microversion 2.88')

    def test_statistics_leave_disabled_computes_out(self):
        service = self.services['compute-b']
        service.disabled = True
        service.save()
        stats = self.ok('GET', '/os-hypervisors/statistics')[
            'hypervisor_statistics']
        self.assertEqual((1, 8), (stats['count'], stats['vcpus']))

    def test_uptime_until_2_87(self):
        for version, schemas in (('2.1', 'v2_1'), ('2.53', 'v2_53'),
                                 ('2.87', 'v2_53')):
            vid = tuple(int(p) for p in version.split('.'))
            body = self.ok('GET', '/os-hypervisors/%s/uptime'
                           % self.id_of('compute-a', vid), version)
            self.assert_schema(schemas, 'hypervisors',
                               'get_hypervisor_uptime', body)
            self.assertEqual(UPTIME, body['hypervisor']['uptime'])
            self.assertEqual('compute-a',
                             body['hypervisor']['hypervisor_hostname'])
        self.refused(404, 'GET', '/os-hypervisors/%s/uptime'
                     % self.nodes['compute-a'].uuid, '2.88')

    def test_uptime_refusals(self):
        service = self.services['compute-b']
        service.forced_down = True
        service.save()
        self.refused(400, 'GET', '/os-hypervisors/%s/uptime'
                     % self.nodes['compute-b'].id, says='unavailable')
        self.uptime.side_effect = messaging.RemoteError(
            'NotImplementedError', 'no')
        self.refused(501, 'GET', '/os-hypervisors/%s/uptime'
                     % self.nodes['compute-a'].id, says='uptime')
        self.refused(404, 'GET', '/os-hypervisors/999/uptime')


class SearchServersTestCase(HypervisorsTestBase):

    def test_search_until_2_52(self):
        for version, schemas in (('2.1', 'v2_1'), ('2.52', 'v2_33')):
            body = self.ok('GET', '/os-hypervisors/compute/search', version)
            self.assert_schema(schemas, 'hypervisors',
                               'list_search_hypervisors', body)
            self.assertEqual(['compute-a', 'compute-b'], [
                h['hypervisor_hostname'] for h in body['hypervisors']])
        self.assertEqual(['compute-b'], [
            h['hypervisor_hostname'] for h in self.ok(
                'GET', '/os-hypervisors/-b/search')['hypervisors']])
        self.refused(404, 'GET', '/os-hypervisors/nowhere/search',
                     says="No hypervisor matching 'nowhere'")
        self.refused(404, 'GET', '/os-hypervisors/compute/search', '2.53')

    def test_servers_until_2_52(self):
        for version, schemas in (('2.1', 'v2_1'), ('2.52', 'v2_33')):
            body = self.ok('GET', '/os-hypervisors/compute/servers', version)
            self.assert_schema(schemas, 'hypervisors',
                               'get_hypervisors_servers', body)
            rows = {h['hypervisor_hostname']: h
                    for h in body['hypervisors']}
            self.assertEqual({'vm1', 'vm2'}, {
                s['name'] for s in rows['compute-a']['servers']})
            self.assertNotIn('servers', rows['compute-b'])
        self.refused(404, 'GET', '/os-hypervisors/nowhere/servers')
        self.refused(404, 'GET', '/os-hypervisors/compute/servers', '2.53')

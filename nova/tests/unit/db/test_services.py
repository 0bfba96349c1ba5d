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

"""Tests of the services and compute_nodes DB API."""

import datetime

from nova.db import api as db
from nova import exception
from nova.tests.unit.db import base


def _service(**values):
    service = {'host': 'host1', 'binary': 'nova-compute',
               'topic': 'compute'}
    service.update(values)
    return service


class ServiceTestCase(base.DbTestCase):

    def test_create_returns_plain_dict_with_defaults(self):
        service = db.service_create(self.context, _service())
        self.assertIs(dict, type(service))
        self.assertEqual('host1', service['host'])
        self.assertEqual(0, service['report_count'])
        self.assertFalse(service['disabled'])
        self.assertFalse(service['forced_down'])
        self.assertEqual(0, service['version'])
        self.assertEqual(0, service['deleted'])
        self.assertEqual(36, len(service['uuid']))
        self.assertIsInstance(service['created_at'], datetime.datetime)
        # Naive UTC, as oslo_utils.timeutils.utcnow() gives.
        self.assertIsNone(service['created_at'].tzinfo)

    def test_get_by_id_uuid_and_host_binary(self):
        created = db.service_create(self.context, _service())
        self.assertEqual(created, db.service_get(self.context,
                                                 created['id']))
        self.assertEqual(created, db.service_get_by_uuid(self.context,
                                                         created['uuid']))
        self.assertEqual(created, db.service_get_by_host_and_binary(
            self.context, 'host1', 'nova-compute'))

    def test_get_missing_raises(self):
        self.assertRaises(exception.ServiceNotFound,
                          db.service_get, self.context, 42)
        self.assertRaises(exception.ServiceNotFound,
                          db.service_get_by_uuid, self.context, 'nope')
        exc = self.assertRaises(exception.HostBinaryNotFound,
                                db.service_get_by_host_and_binary,
                                self.context, 'host1', 'nova-compute')
        self.assertIn('host1', str(exc))

    def test_duplicate_host_and_binary_raises_service_exists(self):
        db.service_create(self.context, _service())
        exc = self.assertRaises(exception.ServiceExists,
                                db.service_create, self.context, _service())
        self.assertEqual('host1', exc.kwargs['host'])
        self.assertEqual('nova-compute', exc.kwargs['binary'])
        # Another binary on the same host is fine.
        db.service_create(self.context, _service(binary='nova-conductor'))

    def test_duplicate_after_update_raises_service_exists(self):
        db.service_create(self.context, _service())
        other = db.service_create(self.context, _service(host='host2'))
        self.assertRaises(exception.ServiceExists, db.service_update,
                          self.context, other['id'], {'host': 'host1'})
        self.assertEqual('host2',
                         db.service_get(self.context, other['id'])['host'])

    def test_get_all_and_disabled_filter(self):
        enabled = db.service_create(self.context, _service())
        disabled = db.service_create(
            self.context, _service(host='host2', disabled=True,
                                   disabled_reason='maintenance'))
        self.assertEqual([enabled['id'], disabled['id']],
                         [s['id'] for s in db.service_get_all(self.context)])
        self.assertEqual([disabled['id']], [
            s['id'] for s in db.service_get_all(self.context,
                                                disabled=True)])
        self.assertEqual([enabled['id']], [
            s['id'] for s in db.service_get_all(self.context,
                                                disabled=False)])

    def test_get_all_by_binary(self):
        compute = db.service_create(self.context, _service())
        off = db.service_create(self.context,
                                _service(host='host2', disabled=True))
        db.service_create(self.context, _service(binary='nova-conductor',
                                                 topic='conductor'))
        self.assertEqual({compute['id'], off['id']}, {
            s['id'] for s in db.service_get_all_by_binary(self.context,
                                                          'nova-compute')})
        self.assertEqual([compute['id']], [
            s['id'] for s in db.service_get_all_by_binary(
                self.context, 'nova-compute', include_disabled=False)])

    def test_update(self):
        service = db.service_create(self.context, _service())
        seen = datetime.datetime(2024, 5, 1, 12, 0, 0)
        updated = db.service_update(self.context, service['id'],
                                    {'report_count': 3,
                                     'last_seen_up': seen})
        self.assertEqual(3, updated['report_count'])
        self.assertEqual(seen, updated['last_seen_up'])
        self.assertIsNotNone(updated['updated_at'])
        self.assertEqual(updated, db.service_get(self.context,
                                                 service['id']))

    def test_timezone_aware_datetimes_are_stored_as_naive_utc(self):
        service = db.service_create(self.context, _service())
        plus_two = datetime.timezone(datetime.timedelta(hours=2))
        seen = datetime.datetime(2024, 5, 1, 14, 0, 0, tzinfo=plus_two)
        updated = db.service_update(self.context, service['id'],
                                    {'last_seen_up': seen})
        expected = datetime.datetime(2024, 5, 1, 12, 0, 0)
        self.assertEqual(expected, updated['last_seen_up'])
        self.assertEqual(expected, db.service_get(
            self.context, service['id'])['last_seen_up'])

    def test_update_missing_raises(self):
        self.assertRaises(exception.ServiceNotFound, db.service_update,
                          self.context, 7, {'report_count': 1})

    def test_update_unknown_column_raises_invalid(self):
        service = db.service_create(self.context, _service())
        self.assertRaises(exception.Invalid, db.service_update,
                          self.context, service['id'], {'colour': 'red'})

    def test_destroy_is_soft_and_hidden(self):
        service = db.service_create(self.context, _service())
        db.service_destroy(self.context, service['id'])
        self.assertRaises(exception.ServiceNotFound,
                          db.service_get, self.context, service['id'])
        self.assertEqual([], db.service_get_all(self.context))
        deleted = db.service_get(self.deleted_context(), service['id'])
        self.assertEqual(service['id'], deleted['deleted'])
        self.assertIsNotNone(deleted['deleted_at'])
        only = db.service_get_all(self.deleted_context('only'))
        self.assertEqual([service['id']], [s['id'] for s in only])
        self.assertRaises(exception.ServiceNotFound,
                          db.service_destroy, self.context, service['id'])

    def test_destroying_a_compute_service_removes_its_nodes(self):
        compute = db.service_create(self.context, _service())
        db.compute_node_create(self.context, _node())
        db.compute_node_create(self.context, _node(host='host2',
                                                   hypervisor_hostname='n2'))
        db.service_destroy(self.context, compute['id'])
        self.assertEqual([], db.compute_node_get_all_by_host(self.context,
                                                             'host1'))
        self.assertEqual(['host2'], [
            n['host'] for n in db.compute_node_get_all(self.context)])

    def test_destroying_another_service_keeps_the_nodes(self):
        conductor = db.service_create(self.context, _service(
            binary='nova-conductor', topic='conductor'))
        db.compute_node_create(self.context, _node())
        db.service_destroy(self.context, conductor['id'])
        self.assertEqual(1, len(db.compute_node_get_all(self.context)))

    def test_destroyed_service_frees_host_and_binary(self):
        first = db.service_create(self.context, _service())
        db.service_destroy(self.context, first['id'])
        second = db.service_create(self.context, _service())
        self.assertNotEqual(first['id'], second['id'])
        self.assertEqual(second, db.service_get_by_host_and_binary(
            self.context, 'host1', 'nova-compute'))

    def test_minimum_version(self):
        db.service_create(self.context, _service(version=5))
        db.service_create(self.context, _service(host='host2', version=3))
        db.service_create(self.context, _service(host='host3', version=1,
                                                 forced_down=True))
        gone = db.service_create(self.context, _service(host='host4',
                                                        version=2))
        db.service_destroy(self.context, gone['id'])
        db.service_create(self.context, _service(
            binary='nova-conductor', topic='conductor', version=7))
        self.assertEqual(
            {'nova-compute': 3, 'nova-conductor': 7, 'nova-api': None},
            db.service_get_minimum_version(
                self.context, ['nova-compute', 'nova-conductor',
                               'nova-api']))
        self.assertEqual({'nova-compute': 3},
                         db.service_get_minimum_version(self.context,
                                                        'nova-compute'))


def _node(**values):
    node = {'host': 'host1', 'hypervisor_hostname': 'node1',
            'hypervisor_type': 'QEMU', 'hypervisor_version': 8002000,
            'vcpus': 16, 'memory_mb': 65536, 'local_gb': 500}
    node.update(values)
    return node


class ComputeNodeTestCase(base.DbTestCase):

    def test_create_and_get(self):
        node = db.compute_node_create(self.context, _node())
        self.assertIs(dict, type(node))
        self.assertEqual(0, node['vcpus_used'])
        self.assertEqual('', node['cpu_info'])
        self.assertEqual(node, db.compute_node_get(self.context, node['id']))
        self.assertEqual(node, db.compute_node_get_by_uuid(self.context,
                                                           node['uuid']))
        self.assertEqual(node, db.compute_node_get_by_host_and_nodename(
            self.context, 'host1', 'node1'))

    def test_get_missing_raises(self):
        self.assertRaises(exception.ComputeNodeNotFound,
                          db.compute_node_get, self.context, 1)
        self.assertRaises(exception.ComputeNodeNotFound,
                          db.compute_node_get_by_uuid, self.context, 'x')
        exc = self.assertRaises(
            exception.ComputeHostNodeNotFound,
            db.compute_node_get_by_host_and_nodename,
            self.context, 'host1', 'node1')
        self.assertEqual('node1', exc.kwargs['node'])

    def test_duplicate_host_and_nodename_raises(self):
        db.compute_node_create(self.context, _node())
        self.assertRaises(exception.ComputeNodeExists,
                          db.compute_node_create, self.context, _node())

    def test_duplicate_uuid_raises(self):
        node = db.compute_node_create(self.context, _node())
        self.assertRaises(exception.ComputeNodeExists,
                          db.compute_node_create, self.context,
                          _node(hypervisor_hostname='node2',
                                uuid=node['uuid']))

    def test_get_all_and_by_host(self):
        one = db.compute_node_create(self.context, _node())
        two = db.compute_node_create(self.context,
                                     _node(hypervisor_hostname='node2'))
        other = db.compute_node_create(self.context, _node(host='host2'))
        self.assertEqual([one['id'], two['id']], [
            n['id'] for n in db.compute_node_get_all_by_host(self.context,
                                                             'host1')])
        self.assertEqual([], db.compute_node_get_all_by_host(self.context,
                                                             'host9'))
        self.assertEqual([one['id'], two['id'], other['id']], [
            n['id'] for n in db.compute_node_get_all(self.context)])

    def test_update(self):
        node = db.compute_node_create(self.context, _node())
        updated = db.compute_node_update(self.context, node['id'],
                                         {'vcpus_used': 4,
                                          'memory_mb_used': 2048})
        self.assertEqual(4, updated['vcpus_used'])
        self.assertEqual(2048, db.compute_node_get(
            self.context, node['id'])['memory_mb_used'])
        self.assertRaises(exception.ComputeNodeNotFound,
                          db.compute_node_update, self.context, 99,
                          {'vcpus_used': 1})

    def test_delete_is_soft(self):
        node = db.compute_node_create(self.context, _node())
        db.compute_node_delete(self.context, node['id'])
        self.assertRaises(exception.ComputeNodeNotFound,
                          db.compute_node_get, self.context, node['id'])
        self.assertEqual([], db.compute_node_get_all(self.context))
        self.assertEqual(node['id'], db.compute_node_get(
            self.deleted_context(), node['id'])['deleted'])
        # The deleted node no longer blocks its host and nodename.
        db.compute_node_create(self.context, _node())
        self.assertRaises(exception.ComputeNodeNotFound,
                          db.compute_node_delete, self.context, node['id'])

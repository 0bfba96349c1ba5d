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

"""Service and ServiceList against the real database."""

from nova import exception
from nova import objects
from nova.objects import service as service_obj
from nova import test


class TestServiceVersionHistory(test.NoDBTestCase):

    def test_version_is_last_history_entry(self):
        self.assertEqual(len(service_obj.SERVICE_VERSION_HISTORY) - 1,
                         service_obj.SERVICE_VERSION)
        # 0 is reserved for "never reported": the code has a real version.
        self.assertGreater(service_obj.SERVICE_VERSION, 0)

    def test_every_entry_names_both_rpc_apis(self):
        for version, entry in enumerate(
                service_obj.SERVICE_VERSION_HISTORY):
            self.assertEqual({'compute_rpc', 'conductor_rpc'}, set(entry),
                             'version %d' % version)


class TestService(test.TestCase):

    def _create(self, host='h1', binary='nova-compute', **values):
        service = objects.Service(self.context, host=host, binary=binary,
                                  topic='compute', **values)
        service.create()
        return service

    def test_create_fills_version_and_uuid(self):
        service = self._create()
        self.assertEqual(service_obj.SERVICE_VERSION, service.version)
        self.assertTrue(service.obj_attr_is_set('uuid'))
        self.assertFalse(service.disabled)
        self.assertEqual(0, service.report_count)
        self.assertEqual(set(), service.obj_what_changed())

    def test_create_keeps_given_version(self):
        self.assertEqual(0, self._create(version=0).version)

    def test_create_duplicate(self):
        self._create()
        self.assertRaises(exception.ServiceExists, self._create)

    def test_gets(self):
        service = self._create()
        for loaded in (
                objects.Service.get_by_id(self.context, service.id),
                objects.Service.get_by_uuid(self.context, service.uuid),
                objects.Service.get_by_host_and_binary(
                    self.context, 'h1', 'nova-compute'),
                objects.Service.get_by_compute_host(self.context, 'h1')):
            self.assertEqual(service.id, loaded.id)
            self.assertEqual(service.uuid, loaded.uuid)
            self.assertIs(self.context, loaded._context)

    def test_get_missing(self):
        self.assertRaises(exception.HostBinaryNotFound,
                          objects.Service.get_by_host_and_binary,
                          self.context, 'nohost', 'nova-compute')
        self.assertRaises(exception.ComputeHostNotFound,
                          objects.Service.get_by_compute_host,
                          self.context, 'nohost')
        self.assertRaises(exception.ServiceNotFound,
                          objects.Service.get_by_id, self.context, 999)

    def test_compute_host_ignores_other_binaries(self):
        self._create(binary='nova-conductor')
        self.assertRaises(exception.ComputeHostNotFound,
                          objects.Service.get_by_compute_host,
                          self.context, 'h1')

    def test_save(self):
        service = self._create()
        service.disabled = True
        service.disabled_reason = 'maintenance'
        service.report_count = 3
        service.save()
        loaded = objects.Service.get_by_id(self.context, service.id)
        self.assertTrue(loaded.disabled)
        self.assertEqual('maintenance', loaded.disabled_reason)
        self.assertEqual(3, loaded.report_count)
        self.assertIsNotNone(loaded.updated_at)

    def test_destroy(self):
        service = self._create()
        service.destroy()
        self.assertTrue(service.deleted)
        self.assertRaises(exception.ServiceNotFound,
                          objects.Service.get_by_id, self.context,
                          service.id)
        # The host can register again.
        self._create()

    def test_minimum_version(self):
        self._create(host='h1', version=3)
        self._create(host='h2', version=5)
        self._create(host='c1', binary='nova-conductor', version=1)
        self.assertEqual(3, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))
        self.assertEqual(1, objects.Service.get_minimum_version(
            self.context, 'nova-conductor'))
        self.assertEqual(1, objects.Service.get_minimum_version_multi(
            self.context, ['nova-compute', 'nova-conductor']))

    def test_minimum_version_ignores_forced_down_and_deleted(self):
        old = self._create(host='h1', version=2)
        self._create(host='h2', version=5)
        old.forced_down = True
        old.save()
        self.assertEqual(5, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))
        old.destroy()
        self.assertEqual(5, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))

    def test_minimum_version_none_running(self):
        self.assertEqual(0, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))


class TestServiceList(test.TestCase):

    def setUp(self):
        super().setUp()
        for host, binary, disabled in (('h1', 'nova-compute', False),
                                       ('h2', 'nova-compute', True),
                                       ('c1', 'nova-conductor', False)):
            objects.Service(self.context, host=host, binary=binary,
                            disabled=disabled).create()

    def _hosts(self, services):
        return sorted(s.host for s in services)

    def test_get_all(self):
        self.assertEqual(['c1', 'h1', 'h2'], self._hosts(
            objects.ServiceList.get_all(self.context)))
        self.assertEqual(['h2'], self._hosts(
            objects.ServiceList.get_all(self.context, disabled=True)))
        self.assertEqual(['c1', 'h1'], self._hosts(
            objects.ServiceList.get_all(self.context, disabled=False)))

    def test_get_by_binary(self):
        self.assertEqual(['h1'], self._hosts(
            objects.ServiceList.get_by_binary(self.context,
                                              'nova-compute')))
        self.assertEqual(['h1', 'h2'], self._hosts(
            objects.ServiceList.get_by_binary(self.context, 'nova-compute',
                                              include_disabled=True)))

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

"""InstanceFault and InstanceFaultList."""

from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.objects import instance_fault
from nova import test
from nova.tests.unit.objects import fake_objects


class TestFromException(test.NoDBTestCase):

    def test_nova_exception(self):
        error = exception.MigrationPreCheckError(reason='no namespaces')
        fault = objects.InstanceFault.from_exception(
            self.context, fake_objects.PROVIDER_UUID, error, host='dst')
        self.assertEqual(400, fault.code)
        self.assertEqual('Migration pre-check error: no namespaces',
                         fault.message)
        self.assertEqual('dst', fault.host)
        self.assertFalse(fault.obj_attr_is_set('id'))

    def test_other_exception_hides_text_in_message(self):
        fault = objects.InstanceFault.from_exception(
            self.context, fake_objects.PROVIDER_UUID,
            ValueError('secret detail'), details='trace')
        self.assertEqual(500, fault.code)
        self.assertEqual('ValueError', fault.message)
        self.assertEqual('trace', fault.details)


class TestInstanceFaultPersistence(test.TestCase):

    def setUp(self):
        super().setUp()
        flavor = objects.Flavor(self.context, flavorid='f', name='f',
                                memory_mb=512, vcpus=1)
        flavor.create()
        self.uuids = []
        for _ in range(2):
            instance = objects.Instance(self.context, flavor=flavor,
                                        vm_state=vm_states.ACTIVE,
                                        user_id='u', project_id='p')
            instance.create()
            self.uuids.append(instance.uuid)

    def _fault(self, uuid, message):
        fault = objects.InstanceFault(self.context, instance_uuid=uuid,
                                      code=500, message=message,
                                      details='details', host='h')
        fault.create()
        return fault

    def test_create_truncates_message(self):
        fault = self._fault(self.uuids[0], 'x' * 300)
        self.assertTrue(fault.obj_attr_is_set('id'))
        latest = objects.InstanceFault.get_latest_for_instance(
            self.context, self.uuids[0])
        self.assertEqual(instance_fault.MESSAGE_MAX_LENGTH,
                         len(latest.message))

    def test_latest_and_list(self):
        self.assertIsNone(objects.InstanceFault.get_latest_for_instance(
            self.context, self.uuids[0]))
        self._fault(self.uuids[0], 'old')
        self._fault(self.uuids[0], 'new')
        self._fault(self.uuids[1], 'other')
        self.assertEqual('new', objects.InstanceFault.get_latest_for_instance(
            self.context, self.uuids[0]).message)
        faults = objects.InstanceFaultList.get_by_instance_uuids(
            self.context, self.uuids)
        self.assertEqual(['new', 'old', 'other'],
                         [f.message for f in faults])

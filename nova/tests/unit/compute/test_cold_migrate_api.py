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

"""The compute API's cold migrate refusals (real database): only an ACTIVE
instance with no other operation in progress is taken, and a refused one
is left as it was, with nothing recorded."""

from unittest import mock

from oslo_utils import uuidutils

from nova.compute import api as compute_api
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test


class ColdMigrateAPITestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext(
            user_id='fake-user', project_id='fake-project', is_admin=True)
        self.flavor = objects.Flavor(
            self.context, name='small', flavorid='small', memory_mb=128,
            vcpus=1, root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={'hw:pmem': 'SMALL'})
        self.flavor.create()
        self.api = compute_api.API()
        self.api.conductor_rpcapi = mock.Mock()
        self.conductor = self.api.conductor_rpcapi.migrate_server

    def create_instance(self, **values):
        fields_ = dict(uuid=uuidutils.generate_uuid(),
                       user_id='fake-user', project_id='fake-project',
                       display_name='guest', flavor=self.flavor,
                       host='compute-a', node='compute-a',
                       vm_state=vm_states.ACTIVE,
                       power_state=power_state.RUNNING, task_state=None)
        fields_.update(values)
        instance = objects.Instance(self.context, **fields_)
        instance.create()
        return instance

    def reload(self, instance):
        return objects.Instance.get_by_uuid(self.context, instance.uuid)

    def _assert_refused_untouched(self, instance, message):
        before = self.reload(instance)
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.migrate, self.context, instance)
        self.assertIn(message, str(err))
        self.conductor.assert_not_called()
        self.assertEqual([], objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': instance.uuid}).objects)
        self.assertEqual([], objects.InstanceActionList.get_by_instance_uuid(
            self.context, instance.uuid).objects)
        after = self.reload(instance)
        self.assertEqual((before.vm_state, before.task_state),
                         (after.vm_state, after.task_state))

    def test_active_idle_instance_accepted(self):
        # The refusals below are of the state, not of anything else.
        instance = self.create_instance()
        self.api.migrate(self.context, instance)
        self.conductor.assert_called_once()
        self.assertEqual(1, len(objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': instance.uuid})))

    def test_stopped_instance_refused(self):
        instance = self.create_instance(vm_state=vm_states.STOPPED,
                                        power_state=power_state.SHUTDOWN)
        self._assert_refused_untouched(
            instance, 'in vm_state stopped. Cannot migrate')

    def test_busy_instance_refused(self):
        instance = self.create_instance(task_state=task_states.MIGRATING)
        self._assert_refused_untouched(
            instance, 'in task_state migrating. Cannot migrate')

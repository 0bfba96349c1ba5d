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

"""Cold migration when the conductor answers after the RPC timeout: the
request is accepted unless the conductor refused meanwhile."""

from unittest import mock

import oslo_messaging as messaging
from oslo_utils import uuidutils

from nova.compute import api as compute_api
from nova.compute import move_api
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.objects import fields
from nova import test


def admin_context():
    return nova_context.RequestContext(
        user_id='fake-user', project_id='fake-project', is_admin=True)


def make_instance(context, host='compute-a', vm_state=vm_states.ACTIVE):
    """A running instance on ``host`` with a one-namespace flavor."""
    flavor = objects.Flavor(
        context, name='small', flavorid='small', memory_mb=128,
        vcpus=1, root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
        is_public=True, extra_specs={'hw:pmem': 'SMALL'})
    flavor.create()
    instance = objects.Instance(
        context, uuid=uuidutils.generate_uuid(),
        user_id='fake-user', project_id='fake-project',
        display_name='guest', flavor=flavor, host=host, node=host,
        vm_state=vm_state, power_state=power_state.RUNNING, task_state=None)
    instance.create()
    return instance


class ColdMigrateLateTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = admin_context()
        self.instance = make_instance(self.context)
        self.api = compute_api.API()
        self.api.conductor_rpcapi = mock.Mock()

    def reload(self):
        return objects.Instance.get_by_uuid(self.context, self.instance.uuid)

    def _late(self, status=None):
        conductor = self.api.conductor_rpcapi.migrate_server

        def late(context, instance, migration, **kwargs):
            if status is not None:
                stored = objects.Migration.get_by_id(context, migration.id)
                stored.status = status
                stored.save()
            raise messaging.MessagingTimeout('late')
        conductor.side_effect = late

    def test_still_checking_is_accepted(self):
        self.flags(rpc_response_timeout=5)
        self._late()
        with self.assertLogs(move_api.LOG.logger.name,
                             'WARNING') as logs:
            migration = self.api.migrate(self.context, self.instance)
        self.assertEqual(fields.MigrationStatus.PRE_MIGRATING,
                         migration.status)
        self.assertIn('accepted without waiting', logs.output[0])
        # Nothing reset under the conductor's feet.
        self.assertEqual(task_states.RESIZE_PREP, self.reload().task_state)

    def test_past_the_checks_is_accepted(self):
        self._late(fields.MigrationStatus.MIGRATING)
        migration = self.api.migrate(self.context, self.instance)
        self.assertEqual(fields.MigrationStatus.MIGRATING, migration.status)

    def test_refused_meanwhile_raises(self):
        self._late(fields.MigrationStatus.ERROR)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.api.migrate, self.context,
                                self.instance)
        self.assertIn('ended in status error', str(err))
        self.assertEqual(400, err.code)

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

"""A delete that did not end: its nova-compute was killed half way, or
its request never reached the host.

Until nova-compute finishes it, the server stays ``deleting`` and
nova-api refuses to delete it again; its namespaces must never be handed
to anyone while the record may still name them. Each test checks the
end state with every owner: the database (the instance is gone, its
action finished), the hypervisor (no domain), the resource tracker and
placement (nothing held or counted), the namespace files (zeroes) and
``nova-manage vpmem audit``.
"""

import time

import fixtures

from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_power_actions as power_base

SOURCE = power_base.SOURCE


class TestInterruptedDelete(power_base.PowerActionsTestBase):

    def _deleting(self, server, vm_state=None):
        left = objects.Instance.get_by_uuid(self.context, server.uuid)
        if vm_state is not None:
            self.assertEqual((vm_state, None),
                             (left.vm_state, left.task_state))
            return left
        self.assertEqual(task_states.DELETING, left.task_state)
        # A second delete is refused while the first has not ended.
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.delete, self.context, left)
        return left

    def _assert_deleted(self, server):
        self.wait_for_deleted(server.uuid)
        self.assertEqual([], self.domain_hosts(server.uuid))
        self.assert_free_and_erased(SOURCE)
        self.assertEqual({}, self.consumer_allocations(server.uuid))
        self.assertEqual('delete', self.action_names(server)[0])
        rc, out = self.audit()
        self.assertEqual(0, rc, out)

    def _killed_in(self, target, name, after=False, vm_state=None):
        """Delete a server whose tenant wrote to its namespaces; kill
        nova-compute in ``target.name``; start it again."""
        server = self.boot_on(SOURCE)
        self.fill_namespaces(server, b'tenant secret')
        crashed = self.crash_when(SOURCE, target, name, after=after)
        self.api.delete(self.context, server)
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self._deleting(server, vm_state)
        self.start_compute(SOURCE)
        return server

    def test_killed_after_the_guest_went_is_finished_at_start(self):
        server = self._killed_in(self.manager(SOURCE).driver, 'destroy',
                                 after=True)
        self._assert_deleted(server)

    def test_killed_in_the_erase_is_finished_at_start(self):
        # The namespaces were 'erasing' when the service died: they are
        # erased again before anything else may have them.
        server = self._killed_in(self.manager(SOURCE).driver,
                                 'erase_vpmems')
        self._assert_deleted(server)

    def test_killed_before_the_record_went_is_finished_at_start(self):
        # Erased and freed already; the record, saved 'deleted', still
        # named them.
        server = self._killed_in(objects.Instance, 'destroy',
                                 vm_state=vm_states.DELETED)
        self._assert_deleted(server)

    def test_lost_request_is_sent_again_and_a_late_one_does_nothing(self):
        # nova-api stops after it took the instance (deleting) and before
        # its request left: no nova-compute restarts to notice.
        self.flags(power_action_stuck_timeout=1, group='compute')
        server = self.boot_on(SOURCE)
        self.fill_namespaces(server, b'tenant secret')
        with fixtures.MockPatchObject(
                compute_rpcapi.ComputeAPI, 'terminate_instance',
                side_effect=base.ServiceCrashed(
                    'nova-api killed before it sent the delete')):
            self.assertRaises(base.ServiceCrashed, self.api.delete,
                              self.context, server)
        left = self._deleting(server)
        compute = self.manager(SOURCE)
        # Within the timeout its request may still be on its way.
        compute.resend_lost_power_requests_periodic(self.context)
        self.assertEqual(task_states.DELETING, objects.Instance.get_by_uuid(
            self.context, server.uuid).task_state)
        self.assertEqual([SOURCE], self.domain_hosts(server.uuid))
        time.sleep(1.1)
        compute.resend_lost_power_requests_periodic(self.context)
        self._assert_deleted(server)
        # The lost request, arriving at last, finds nothing to delete.
        compute.terminate_instance(self.context, left)
        self._assert_deleted(server)

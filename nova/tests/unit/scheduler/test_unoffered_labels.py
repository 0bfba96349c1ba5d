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

"""A hw:pmem label no host offers, against the real placement service."""

import uuid

from nova import exception
from nova import objects
from nova.scheduler.client import report
from nova.scheduler import request as sched_request
from nova.scheduler import selection
from nova import test

SMALL = 'CUSTOM_PMEM_NAMESPACE_SMALL'


def _inv(total):
    return {'total': total, 'reserved': 0, 'min_unit': 1, 'max_unit': total,
            'step_size': 1, 'allocation_ratio': 1.0}


def _flavor(pmem, name='pmem-flavor'):
    return objects.Flavor(name=name, flavorid=name, memory_mb=64, vcpus=1,
                          root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
                          is_public=True, extra_specs={'hw:pmem': pmem})


class UnofferedLabelsTestCase(test.TestCase):

    USES_PLACEMENT = True

    def setUp(self):
        super().setUp()
        self.client = report.SchedulerReportClient()
        self.node = objects.ComputeNode(
            self.context, uuid=str(uuid.uuid4()), host='host-a',
            hypervisor_hostname='host-a')
        self.node.create()
        self.client.set_inventory(
            self.context, self.node.uuid, 'host-a',
            {'VCPU': _inv(8), 'MEMORY_MB': _inv(4096), SMALL: _inv(1)})
        self.requests = []
        real_request = self.client._request

        def counting(method, url, *args, **kwargs):
            self.requests.append((method, url.split('?')[0]))
            return real_request(method, url, *args, **kwargs)

        self.client._request = counting

    def _resources(self, flavor):
        return sched_request.resources_from_flavor(flavor)

    # -- the placement client ----------------------------------------------

    def test_success_costs_one_request(self):
        reqs, _summaries = self.client.get_allocation_candidates(
            self.context, {SMALL: 1, 'VCPU': 1})
        self.assertEqual(1, len(reqs))
        self.assertEqual([('GET', '/allocation_candidates')], self.requests)

    def test_unknown_class_is_named(self):
        err = self.assertRaises(
            exception.UnknownResourceClasses,
            self.client.get_allocation_candidates, self.context,
            {SMALL: 1, 'CUSTOM_PMEM_NAMESPACE_NOPE': 1, 'VCPU': 1})
        self.assertEqual(['CUSTOM_PMEM_NAMESPACE_NOPE'],
                         err.kwargs['resource_classes'])
        self.assertIn('CUSTOM_PMEM_NAMESPACE_NOPE', str(err))
        # Only the custom classes were looked up, after the 400.
        self.assertEqual(
            [('GET', '/allocation_candidates'),
             ('GET', '/resource_classes/CUSTOM_PMEM_NAMESPACE_NOPE'),
             ('GET', '/resource_classes/%s' % SMALL)], self.requests)

    def test_other_400_still_fails_as_before(self):
        err = self.assertRaises(exception.PlacementRequestFailed,
                                self.client.get_allocation_candidates,
                                self.context, {SMALL: 0})
        self.assertEqual(400, err.kwargs['status'])

    # -- selection ---------------------------------------------------------

    def test_unknown_label_is_no_valid_host_naming_it(self):
        flavor = _flavor('SMALL,nope', name='big-one')
        err = self.assertRaises(exception.NoValidHost,
                                selection.get_candidates, self.context,
                                self.client, self._resources(flavor),
                                flavor=flavor)
        self.assertEqual(
            'No valid host was found. No compute host offers persistent '
            'memory label nope (resource class CUSTOM_PMEM_NAMESPACE_NOPE) '
            'that flavor big-one asks for with hw:pmem=SMALL,nope.',
            str(err))

    def test_known_class_without_inventory_is_named(self):
        self.client.ensure_resource_classes(
            self.context, ['CUSTOM_PMEM_NAMESPACE_GONE'])
        flavor = _flavor('GONE')
        err = self.assertRaises(exception.NoValidHost,
                                selection.get_candidates, self.context,
                                self.client, self._resources(flavor),
                                flavor=flavor)
        self.assertIn('No compute host offers persistent memory label GONE '
                      '(resource class CUSTOM_PMEM_NAMESPACE_GONE)', str(err))

    def test_offered_but_all_used_is_not_called_unoffered(self):
        self.client.claim_resources(self.context, str(uuid.uuid4()),
                                    {self.node.uuid: {SMALL: 1}},
                                    str(uuid.uuid4()), str(uuid.uuid4()))
        flavor = _flavor('SMALL')
        self.assertEqual([], selection.get_candidates(
            self.context, self.client, self._resources(flavor),
            flavor=flavor))

    def test_unreadable_inventory_is_not_called_unoffered(self):
        self.client.ensure_resource_classes(
            self.context, ['CUSTOM_PMEM_NAMESPACE_GONE'])
        flavor = _flavor('GONE')

        def broken(context, rp_uuid):
            raise exception.PlacementRequestFailed(
                status=503, method='GET', url='/x', detail='down')

        self.client.get_inventory = broken
        self.assertEqual([], selection.get_candidates(
            self.context, self.client, self._resources(flavor),
            flavor=flavor))

    def test_reason_for_several_labels(self):
        flavor = _flavor('A,b,A', name='f2')
        reason = selection.unoffered_reason(
            flavor, ['CUSTOM_PMEM_NAMESPACE_A', 'CUSTOM_PMEM_NAMESPACE_B',
                     'CUSTOM_OTHER'])
        self.assertEqual(
            'No compute host offers persistent memory labels A, b (resource '
            'classes CUSTOM_PMEM_NAMESPACE_A, CUSTOM_PMEM_NAMESPACE_B) that '
            'flavor f2 asks for with hw:pmem=A,b,A. No compute host offers '
            'resource class CUSTOM_OTHER.', reason)

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

"""Tests of the flavor to resource request translation."""

from nova import objects
from nova.scheduler import request
from nova.scheduler import selection
from nova import test


def _flavor(**kw):
    values = dict(name='f', flavorid='f', memory_mb=512, vcpus=2, root_gb=0,
                  ephemeral_gb=0, swap=0, disabled=False, is_public=True,
                  extra_specs={})
    values.update(kw)
    return objects.Flavor(**values)


class TestResourcesFromFlavor(test.NoDBTestCase):

    def test_plain_flavor(self):
        self.assertEqual({'VCPU': 2, 'MEMORY_MB': 512},
                         request.resources_from_flavor(_flavor()))

    def test_disk_counted_when_present(self):
        self.assertEqual(
            {'VCPU': 2, 'MEMORY_MB': 512, 'DISK_GB': 15},
            request.resources_from_flavor(_flavor(root_gb=10,
                                                  ephemeral_gb=5)))

    def test_pmem_labels_counted_with_repeats(self):
        flavor = _flavor(extra_specs={'hw:pmem': 'SMALL, 128G,SMALL'})
        self.assertEqual(
            {'VCPU': 2, 'MEMORY_MB': 512,
             'CUSTOM_PMEM_NAMESPACE_SMALL': 2,
             'CUSTOM_PMEM_NAMESPACE_128G': 1},
            request.resources_from_flavor(flavor))

    def test_no_host_reason_names_the_missing_namespaces(self):
        flavor = _flavor(name='pmem', extra_specs={'hw:pmem': 'SMALL'})
        reason = selection.no_host_reason(
            request.resources_from_flavor(flavor), flavor)
        self.assertIn('1 free CUSTOM_PMEM_NAMESPACE_SMALL', reason)
        self.assertIn('hw:pmem=SMALL', reason)
        self.assertIn('MEMORY_MB:512', reason)

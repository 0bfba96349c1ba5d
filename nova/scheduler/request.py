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

"""What an instance asks placement for, derived from its flavor."""

from nova.virt import hardware


def resources_from_flavor(flavor):
    """Return ``{resource class: amount}`` one instance of ``flavor`` needs.

    VCPU, MEMORY_MB and DISK_GB come from the flavor's sizes (DISK_GB only
    when the flavor has disk); ``hw:pmem`` adds one
    ``CUSTOM_PMEM_NAMESPACE_<LABEL>`` per label listed, repeats counted.
    """
    resources = {'VCPU': flavor.vcpus, 'MEMORY_MB': flavor.memory_mb}
    disk_gb = (flavor.root_gb or 0) + (flavor.ephemeral_gb or 0)
    if disk_gb:
        resources['DISK_GB'] = disk_gb
    resources.update(hardware.get_vpmem_resource_amounts(flavor))
    return resources


def describe(resources):
    """A short human description of a resource request for messages."""
    return ', '.join('%s:%d' % (rc, amount)
                     for rc, amount in sorted(resources.items()))

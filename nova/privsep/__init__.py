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

"""Privilege separation: the few operations that need root.

Everything here runs in a separate privsep daemon that keeps only the
capabilities listed below, so the compute service itself never runs as
root. Entry points take plain values, check them, and return plain values:
what crosses to the daemon must be serializable, and a compromised caller
must not be able to turn an entry point into a general root tool.
"""

from oslo_privsep import capabilities
from oslo_privsep import priv_context

# Opening root-owned device-dax nodes needs DAC_OVERRIDE; ndctl's view of
# the nvdimm bus needs SYS_ADMIN.
SYS_ADMIN_CAPABILITIES = (
    capabilities.CAP_SYS_ADMIN,
    capabilities.CAP_DAC_OVERRIDE,
    capabilities.CAP_CHOWN,
    capabilities.CAP_FOWNER,
)

sys_admin_pctxt = priv_context.PrivContext(
    'nova',
    cfg_section='nova_sys_admin',
    pypath=__name__ + '.sys_admin_pctxt',
    capabilities=list(SYS_ADMIN_CAPABILITIES),
)

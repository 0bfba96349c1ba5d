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

"""Options of the [nova_sys_admin] group: the privsep daemon of nova-compute.

The options are oslo.privsep's. The context in ``nova.privsep``
registers them itself, under its ``cfg_section`` ``nova_sys_admin``,
when nova-compute first imports it; this module only lists them for the
sample and the config validator under that name, with our capabilities as
their default. oslo.privsep's own generator namespace lists them under
``[privsep]``, a section nothing in nova-vpmem reads, so the generator
config does not name it. See doc/source/admin/privsep.rst.
"""

import copy

GROUP = 'nova_sys_admin'


def register_opts(conf):
    # Registering here too would clash with the context's own registration
    # (same names, another default for capabilities); nothing to do.
    pass


def list_opts():
    # Imported here, not at the top: every service imports nova.conf, but
    # only nova-compute needs oslo.privsep, and importing nova.privsep
    # creates the context, which registers its options on the global
    # configuration. Only the generator and the validator call this.
    from oslo_privsep import capabilities
    from oslo_privsep import priv_context

    import nova.privsep

    opts = copy.deepcopy(priv_context.OPTS)
    for opt in opts:
        if opt.dest == 'capabilities':
            opt.default = list(nova.privsep.SYS_ADMIN_CAPABILITIES)
            opt.sample_default = ','.join(
                capabilities.CAPS_BYVALUE[cap]
                for cap in nova.privsep.SYS_ADMIN_CAPABILITIES)
    return {nova.privsep.sys_admin_pctxt.cfg_section: opts}

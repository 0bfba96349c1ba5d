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

"""Options of the [placement] group: how to reach the placement service.

The group holds keystoneauth1's session, auth and adapter options, so a
deployment configures placement as it does for any OpenStack client.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

PLACEMENT_GROUP = 'placement'
DEFAULT_SERVICE_TYPE = 'placement'

placement_group = cfg.OptGroup(
    PLACEMENT_GROUP,
    title='Placement service options')

placement_opts = [
    cfg.StrOpt('microversion',
               default='1.39',
               help="""
Placement API microversion this service sends. 1.39 (placement 8.0 and
later) is required: it is the first with consumer types, which tell
migration allocations from instance allocations.
"""),
    cfg.IntOpt('generation_conflict_retries',
               default=4,
               min=0,
               help="""
How many times an inventory or allocation write is retried after placement
answers that the resource provider or consumer changed underneath it.
"""),
]


def register_opts(conf):
    conf.register_group(placement_group)
    conf.register_opts(placement_opts, group=placement_group)
    ks_loading.register_session_conf_options(conf, PLACEMENT_GROUP)
    ks_loading.register_auth_conf_options(conf, PLACEMENT_GROUP)
    ks_loading.register_adapter_conf_options(
        conf, PLACEMENT_GROUP, include_deprecated=False)
    set_defaults(conf)


def set_defaults(conf):
    # keystoneauth's adapter options have no service type of their own.
    conf.set_default('service_type', DEFAULT_SERVICE_TYPE,
                     group=PLACEMENT_GROUP)
    conf.set_default('valid_interfaces', ['internal', 'public'],
                     group=PLACEMENT_GROUP)


def list_opts():
    # The sample shows the password plugin's options, the usual choice.
    return {
        placement_group: (
            placement_opts +
            ks_loading.get_session_conf_options() +
            ks_loading.get_auth_common_conf_options() +
            ks_loading.get_auth_plugin_conf_options('password') +
            ks_loading.get_adapter_conf_options(include_deprecated=False))
    }

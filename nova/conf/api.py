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

"""Options of the [api] group: the compute REST API service."""

from oslo_config import cfg

api_group = cfg.OptGroup(
    'api',
    title='API options')

api_opts = [
    cfg.StrOpt('auth_strategy',
               default='keystone',
               choices=[('keystone', 'Validate tokens with Keystone '
                                     '(keystonemiddleware auth_token).'),
                        ('noauth2', 'Trust the token as given: '
                         '``user:project`` sets the ids (another token is '
                         'both); the user ``admin`` and the token '
                         '``notused`` (the openstack CLI with '
                         '``--os-auth-type none``) are administrators. '
                         'For development only.')],
               help="How API requests are authenticated."),
    cfg.HostAddressOpt('listen',
                       default='127.0.0.1',
                       help="Address the API server binds to."),
    cfg.PortOpt('port',
                default=8774,
                help="TCP port the API server binds to."),
    cfg.IntOpt('max_limit',
               default=1000,
               min=1,
               help="Most items one list request returns."),
    cfg.StrOpt('images_file',
               help="JSON file listing the images the API's read-only "
                    "image catalog offers besides the built-in 'cirros' "
                    "one: a list of objects with at least 'id' and "
                    "'name'."),
    cfg.IntOpt('max_keypairs_per_user',
               default=100,
               min=0,
               help="Most key pairs (os-keypairs) one user may have. "
                    "Creating or importing one more is refused with 403, "
                    "as Nova answers when the key_pairs quota is used "
                    "up; deleting one makes room again."),
]


def register_opts(conf):
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)


def list_opts():
    return {api_group: api_opts}

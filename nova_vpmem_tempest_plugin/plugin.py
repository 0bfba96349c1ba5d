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

"""The tempest plugin: where the tests are and which options they read.

setup.cfg registers it::

    tempest.test_plugins =
        nova-vpmem = nova_vpmem_tempest_plugin.plugin:VpmemTempestPlugin
"""

import os

from tempest.test_discover import plugins

from nova_vpmem_tempest_plugin import config as vpmem_config

class VpmemTempestPlugin(plugins.TempestPlugin):

    def load_tests(self):
        # The directory holding the package (the repository or
        # site-packages) is the top level: tests import as
        # nova_vpmem_tempest_plugin.api.*.
        here = os.path.dirname(os.path.abspath(__file__))
        return here, os.path.dirname(here)

    def register_opts(self, conf):
        vpmem_config.register_opts(conf)

    def get_opt_lists(self):
        return vpmem_config.list_opts()

    def get_service_clients(self):
        # tempest's own compute and placement clients are enough.
        return []

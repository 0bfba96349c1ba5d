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

"""The tempest plugin of nova-vpmem: vpmem tests for 3rd-party CI.

Registered through the ``tempest.test_plugins`` entry point
(:mod:`nova_vpmem_tempest_plugin.plugin`); its options are in the
``[vpmem]`` group of tempest.conf (:mod:`nova_vpmem_tempest_plugin.config`)
and its tests in :mod:`nova_vpmem_tempest_plugin.api`. They use the public
compute API only (tempest's clients), and placement's API when the cloud
offers it. Nothing here imports ``nova``: the plugin installs into
tempest's environment on its own (``pip install --no-deps``).
"""

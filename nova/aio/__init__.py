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

"""nova-aio: a whole vpmem cloud in one process, for a first look.

``nova-aio demo`` starts the real placement app, the database, ``fake://``
messaging, the API, the conductor and two compute services on emulated
hosts, then live-migrates a server with vpmem through the API and checks
every owner of state afterwards. ``nova-aio serve`` keeps the same cloud
running for the ``openstack`` CLI. Modules:

``cloud``     the services of one process and their configuration
``http``      a small JSON client for the compute and placement APIs
``guest_data``  bytes in namespaces: patterns, checksums, the handover
``checks``    the report: facts in, named checks out (pure functions)
``demo``      the demo's story, with progress and tables (rich)
``serve``     the long-running cloud
``real_hosts``  ``--hypervisor libvirt``: local libvirt hosts
"""

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

"""Versioned objects: the data nova-vpmem services pass to each other.

Code uses ``from nova import objects`` and then ``objects.Instance``. The
classes appear as attributes of this package only after
:func:`register_all` imported their modules; the registry in
:mod:`nova.objects.base` puts the newest version of each class here.
Importing the modules lazily keeps ``nova.objects`` cheap to import and
free of import cycles with the database layer.
"""

import importlib

# Every module holding registered objects; register_all imports them all.
_OBJECT_MODULES = (
    'nova.objects.service',
    'nova.objects.compute_node',
    'nova.objects.flavor',
    'nova.objects.resource',
    'nova.objects.numa',
    'nova.objects.migration_context',
    'nova.objects.instance_fault',
    'nova.objects.instance',
    'nova.objects.migration',
    'nova.objects.request_spec',
    'nova.objects.migrate_data',
    'nova.objects.vpmem_namespace',
    'nova.objects.instance_action',
    'nova.objects.keypair',
)


def register_all():
    """Import every object module so the registry knows every class.

    Safe to call more than once: a module is only imported the first time.
    """
    for module in _OBJECT_MODULES:
        importlib.import_module(module)

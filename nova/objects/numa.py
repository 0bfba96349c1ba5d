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

"""The guest NUMA layout of an instance (minimal).

A guest with vpmem always has a NUMA topology (the NVDIMMs hang off a
guest NUMA node), so the driver needs at least the cells' CPUs and memory.
Stored as JSON in ``instance_extra.numa_topology``.
"""

from nova.objects import base
from nova.objects import fields


@base.NovaObjectRegistry.register
class InstanceNUMACell(base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.IntegerField(),
        # Guest vCPU numbers in this cell.
        'cpuset': fields.SetOfIntegersField(),
        'memory': fields.IntegerField(),  # MiB
    }


@base.NovaObjectRegistry.register
class InstanceNUMATopology(base.NovaObject):
    # Version 1.0: Initial version (InstanceNUMACell 1.0)
    VERSION = '1.0'

    fields = {
        'cells': fields.ListOfObjectsField('InstanceNUMACell'),
    }
    obj_relationships = {
        'cells': [('1.0', '1.0')],
    }

    @property
    def memory(self):
        """Guest memory over all cells, MiB."""
        return sum(cell.memory for cell in self.cells)

    @classmethod
    def obj_from_db_obj(cls, db_text, context=None):
        """The topology stored as JSON text (None for None)."""
        return base.obj_from_json(db_text, context=context)

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

"""ComputeNode: the hypervisor a nova-compute service manages.

Holds the sizes the resource tracker reports. Which vpmem namespace is
assigned to whom is not kept here: the instances' ``resources`` and the
migrations' contexts record it.
"""


from oslo_utils import versionutils

from nova.db import api as db
from nova.objects import base
from nova.objects import fields


@base.NovaObjectRegistry.register
class ComputeNode(base.NovaPersistentObject, base.NovaObject):
    # Version 1.0: Initial version
    # Version 1.1: host_ip
    VERSION = '1.1'

    fields = {
        'id': fields.IntegerField(read_only=True),
        'uuid': fields.UUIDField(),
        'host': fields.StringField(nullable=True),
        'hypervisor_hostname': fields.StringField(nullable=True),
        'hypervisor_type': fields.StringField(nullable=True),
        'hypervisor_version': fields.IntegerField(default=0),
        'vcpus': fields.IntegerField(default=0),
        'memory_mb': fields.IntegerField(default=0),
        'local_gb': fields.IntegerField(default=0),
        'vcpus_used': fields.IntegerField(default=0),
        'memory_mb_used': fields.IntegerField(default=0),
        'local_gb_used': fields.IntegerField(default=0),
        'cpu_info': fields.StringField(default=''),
        'service_id': fields.IntegerField(nullable=True),
        # The host's [DEFAULT]my_ip, shown by the hypervisor API.
        'host_ip': fields.IPAddressField(nullable=True),
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if versionutils.convert_version_to_tuple(target_version) < (1, 1):
            primitive.pop('host_ip', None)

    @staticmethod
    def _from_db_object(context, compute, db_compute):
        base.fill_from_db(compute, db_compute)
        compute._context = context
        compute.obj_reset_changes()
        return compute

    @classmethod
    @base.remotable
    def get_by_id(cls, context, compute_id):
        return cls._from_db_object(context, cls(),
                                   db.compute_node_get(context, compute_id))

    @classmethod
    @base.remotable
    def get_by_uuid(cls, context, compute_uuid):
        return cls._from_db_object(
            context, cls(), db.compute_node_get_by_uuid(context,
                                                        compute_uuid))

    @classmethod
    @base.remotable
    def get_by_host_and_nodename(cls, context, host, nodename):
        """ComputeHostNodeNotFound if ``host`` has no node ``nodename``."""
        return cls._from_db_object(
            context, cls(),
            db.compute_node_get_by_host_and_nodename(context, host,
                                                     nodename))

    @base.remotable
    def create(self):
        base.create_record(self, db.compute_node_create)

    @base.remotable
    def save(self):
        base.save_record(self, db.compute_node_update)

    @base.remotable
    def destroy(self):
        db.compute_node_delete(self._context, self.id)
        self.deleted = True
        self.obj_reset_changes(['deleted'])


@base.NovaObjectRegistry.register
class ComputeNodeList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (ComputeNode 1.0)
    # Version 1.1: ComputeNode 1.1
    VERSION = '1.1'

    fields = {
        'objects': fields.ListOfObjectsField('ComputeNode'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0'), ('1.1', '1.1')],
    }

    @classmethod
    @base.remotable
    def get_all(cls, context):
        return base.obj_make_list(context, cls(context), ComputeNode,
                                  db.compute_node_get_all(context))

    @classmethod
    @base.remotable
    def get_all_by_host(cls, context, host):
        return base.obj_make_list(
            context, cls(context), ComputeNode,
            db.compute_node_get_all_by_host(context, host))

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

"""VPMEMNamespace: the lifecycle state of one namespace of one host.

One record per (compute node, resource class, namespace name), kept apart
from any instance: ``free`` -> ``assigned`` (to an instance, or to an
instance moving in under a migration) -> ``erasing`` -> ``free``, or
``quarantined`` when an erase failed or the contents are unknown. Only a
verified erase makes a namespace free. The compute node's resource
tracker owns these records (``nova/compute/namespace_lifecycle.py``).
"""

from nova.db import api as db
from nova import exception
from nova.objects import base
from nova.objects import fields


@base.NovaObjectRegistry.register
class VPMEMNamespace(base.NovaTimestampObject, base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.IntegerField(read_only=True),
        # The resource provider (compute node) it is counted on.
        'compute_node_uuid': fields.UUIDField(),
        'host': fields.StringField(),
        'resource_class': fields.ResourceClassField(),
        'name': fields.StringField(),
        'devpath': fields.StringField(nullable=True),
        'state': fields.VPMEMNamespaceStateField(),
        # assigned: the holder; erasing, quarantined: where it came from.
        'instance_uuid': fields.UUIDField(nullable=True),
        'migration_uuid': fields.UUIDField(nullable=True),
        # The status that migration takes once this namespace is erased.
        'migration_final_status': fields.MigrationStatusField(
            nullable=True),
        'reason': fields.StringField(nullable=True),
        'state_changed_at': fields.DateTimeField(nullable=True),
        'erase_attempts': fields.NonNegativeIntegerField(default=0),
        'next_erase_at': fields.DateTimeField(nullable=True),
    }

    @staticmethod
    def _from_db_object(context, namespace, db_namespace):
        base.fill_from_db(namespace, db_namespace)
        namespace._context = context
        namespace.obj_reset_changes()
        return namespace

    @property
    def key(self):
        """What identifies it: (provider, resource class, name)."""
        return (self.compute_node_uuid, self.resource_class, self.name)

    def describe(self):
        """``name (resource class) on host`` for messages."""
        return '%s (%s) on %s' % (self.name, self.resource_class, self.host)

    @classmethod
    @base.remotable
    def get_by_id(cls, context, namespace_id):
        return cls._from_db_object(
            context, cls(), db.vpmem_namespace_get(context, namespace_id))

    @base.remotable
    def create(self):
        if self.obj_attr_is_set('id'):
            raise exception.ObjectActionError(action='create',
                                              reason='already created')
        values = base.changes_for_db(self)
        values.setdefault('erase_attempts', 0)
        self._from_db_object(self._context, self,
                             db.vpmem_namespace_create(self._context, values))

    @base.remotable
    def save(self, expected=None):
        """Write the changes if the row still holds ``expected``.

        ``expected`` maps field names to the values (or lists of values)
        the stored row must have; VPMEMNamespaceStateConflict otherwise,
        with nothing written. The object then holds the stored row.
        """
        updates = base.changes_for_db(self)
        if not updates:
            return
        db_row = db.vpmem_namespace_update(self._context, self.id, updates,
                                           expected=expected)
        self._from_db_object(self._context, self, db_row)

    @base.remotable
    def destroy(self, expected=None):
        db.vpmem_namespace_destroy(self._context, self.id, expected=expected)


@base.NovaObjectRegistry.register
class VPMEMNamespaceList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (VPMEMNamespace 1.0)
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('VPMEMNamespace'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0')],
    }

    @classmethod
    @base.remotable
    def get_by_filters(cls, context, filters):
        """Records matching ``filters`` (see the DB API for the keys)."""
        return base.obj_make_list(
            context, cls(context), VPMEMNamespace,
            db.vpmem_namespace_get_all(context, filters))

    @classmethod
    def get_by_compute_node(cls, context, compute_node_uuid):
        return cls.get_by_filters(context,
                                  {'compute_node_uuid': compute_node_uuid})

    @classmethod
    def get_all(cls, context):
        return cls.get_by_filters(context, {})

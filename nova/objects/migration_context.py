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

"""MigrationContext: what a move changes on an instance, both sides.

While an instance moves, ``old_resources`` are the specific resources it
holds on the source and ``new_resources`` those the destination assigned
to it. Both hosts read them from the database (``instance_extra``) rather
than from RPC arguments, so a restarted compute can still find and erase
the namespaces of a move it was part of.
"""

from oslo_utils import versionutils

from nova.db import api as db
from nova.objects import base
from nova.objects import fields


@base.NovaObjectRegistry.register
class MigrationContext(base.NovaObject):
    # Version 1.0: Initial version
    # Version 1.1: Added old_resources and new_resources (ResourceList 1.0)
    VERSION = '1.1'

    fields = {
        'instance_uuid': fields.UUIDField(),
        'migration_id': fields.IntegerField(),
        'old_resources': fields.ObjectField('ResourceList', nullable=True),
        'new_resources': fields.ObjectField('ResourceList', nullable=True),
    }
    obj_relationships = {
        'old_resources': [('1.1', '1.0')],
        'new_resources': [('1.1', '1.0')],
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 1):
            # A 1.0 peer cannot hold the resources: it would neither claim
            # nor erase them, so it must not be asked to move a vpmem guest.
            primitive.pop('old_resources', None)
            primitive.pop('new_resources', None)

    def get_resources(self, revert=False):
        """The source's resources if ``revert``, else the destination's."""
        name = 'old_resources' if revert else 'new_resources'
        return getattr(self, name) if self.obj_attr_is_set(name) else None

    @classmethod
    def obj_from_db_obj(cls, db_text, context=None):
        """The context stored as JSON text (None for None)."""
        return base.obj_from_json(db_text, context=context)

    @classmethod
    @base.remotable
    def get_by_instance_uuid(cls, context, instance_uuid):
        """The migration context of an instance, None if it has none."""
        db_instance = db.instance_get_by_uuid(context, instance_uuid)
        extra = db_instance.get('extra') or {}
        return cls.obj_from_db_obj(extra.get('migration_context'),
                                   context=context)

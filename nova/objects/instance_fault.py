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

"""InstanceFault: the record of an error that happened to an instance.

The API shows an instance's newest fault, so users learn why a build or a
move failed (for example "not enough free vpmem namespaces").
"""

from nova.db import api as db
from nova import exception
from nova.objects import base
from nova.objects import fields

# instance_faults.message is a VARCHAR(255).
MESSAGE_MAX_LENGTH = 255


@base.NovaObjectRegistry.register
class InstanceFault(base.NovaPersistentObject, base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.IntegerField(read_only=True),
        'instance_uuid': fields.UUIDField(),
        # The HTTP-style code of the exception (500 when unknown).
        'code': fields.IntegerField(),
        'message': fields.StringField(nullable=True),
        'details': fields.StringField(nullable=True),
        'host': fields.StringField(nullable=True),
    }

    @staticmethod
    def _from_db_object(context, fault, db_fault):
        base.fill_from_db(fault, db_fault)
        fault._context = context
        fault.obj_reset_changes()
        return fault

    @classmethod
    @base.remotable
    def get_latest_for_instance(cls, context, instance_uuid):
        """The newest fault of an instance, None if it has none."""
        faults = db.instance_fault_get_by_instance_uuids(
            context, [instance_uuid]).get(instance_uuid)
        if not faults:
            return None
        return cls._from_db_object(context, cls(), faults[0])

    @classmethod
    def from_exception(cls, context, instance_uuid, error, host=None,
                       details=None):
        """An unsaved fault describing ``error`` (call create() to keep)."""
        code = getattr(error, 'code', 500)
        if not isinstance(code, int):
            code = 500
        if isinstance(error, exception.NovaException):
            message = error.format_message()
        else:
            message = error.__class__.__name__
        return cls(context, instance_uuid=instance_uuid, code=code,
                   message=message, details=details or str(error),
                   host=host)

    @base.remotable
    def create(self):
        if self.obj_attr_is_set('id'):
            raise exception.ObjectActionError(action='create',
                                              reason='already created')
        values = base.changes_for_db(self)
        message = values.get('message')
        if message and len(message) > MESSAGE_MAX_LENGTH:
            values['message'] = message[:MESSAGE_MAX_LENGTH]
        db_fault = db.instance_fault_create(self._context, values)
        self._from_db_object(self._context, self, db_fault)


@base.NovaObjectRegistry.register
class InstanceFaultList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (InstanceFault 1.0)
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('InstanceFault'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0')],
    }

    @classmethod
    @base.remotable
    def get_by_instance_uuids(cls, context, instance_uuids):
        """The faults of these instances, each instance's newest first."""
        by_instance = db.instance_fault_get_by_instance_uuids(
            context, list(instance_uuids))
        db_faults = [fault for uuid in instance_uuids
                     for fault in by_instance.get(uuid, [])]
        return base.obj_make_list(context, cls(context), InstanceFault,
                                  db_faults)

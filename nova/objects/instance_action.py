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

"""InstanceAction and InstanceActionEvent: what was done to an instance.

An action is one request about an instance, named by the request id of
the API call (``openstack server event list``); its events are the steps
the services took for it and how each ended (``server event show``).
Code records them through :mod:`nova.compute.instance_actions`, which
never lets a recording failure fail the operation; these classes are the
plain record.
"""

from oslo_utils import timeutils

from nova.db import api as db
from nova.db import instance_action_api
from nova.objects import base
from nova.objects import fields

RESULT_SUCCESS = instance_action_api.RESULT_SUCCESS
RESULT_ERROR = instance_action_api.RESULT_ERROR


@base.NovaObjectRegistry.register
class InstanceAction(base.NovaPersistentObject, base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.IntegerField(read_only=True),
        # The Nova name of what was asked: 'live-migration', 'delete'...
        'action': fields.StringField(nullable=True),
        'instance_uuid': fields.UUIDField(),
        'request_id': fields.StringField(nullable=True),
        'user_id': fields.StringField(nullable=True),
        'project_id': fields.StringField(nullable=True),
        'start_time': fields.DateTimeField(nullable=True),
        'finish_time': fields.DateTimeField(nullable=True),
        # 'Error' once an event failed, or what the finish said.
        'message': fields.StringField(nullable=True),
    }

    @staticmethod
    def _from_db_object(context, action, db_action):
        base.fill_from_db(action, db_action)
        action._context = context
        action.obj_reset_changes()
        return action

    @classmethod
    @base.remotable
    def get_by_request_id(cls, context, instance_uuid, request_id):
        """InstanceActionNotFound if the instance has none for it."""
        return cls._from_db_object(
            context, cls(), db.instance_action_get_by_request_id(
                context, instance_uuid, request_id))

    @classmethod
    @base.remotable
    def get_newest(cls, context, instance_uuid, action=None):
        """The instance's newest action, of kind ``action`` if given."""
        return cls._from_db_object(
            context, cls(), db.instance_action_get_newest(
                context, instance_uuid, action=action))

    @classmethod
    @base.remotable
    def action_start(cls, context, instance_uuid, action):
        """Record ``action`` as asked now by the context's request."""
        return cls._from_db_object(
            context, cls(), db.instance_action_create(
                context, cls.start_values(context, instance_uuid, action)))

    @staticmethod
    def start_values(context, instance_uuid, action):
        """The row of ``action`` asked now by the context's request."""
        return {'instance_uuid': instance_uuid, 'action': action,
                'request_id': context.request_id,
                'user_id': context.user_id,
                'project_id': context.project_id,
                'start_time': timeutils.utcnow()}

    @classmethod
    @base.remotable
    def action_finish(cls, context, instance_uuid, message=None,
                      fallback_action=None):
        """Finish the action of the context's request (see the DB API)."""
        values = {'finish_time': timeutils.utcnow()}
        if message is not None:
            values['message'] = message
        return cls._from_db_object(
            context, cls(), db.instance_action_finish(
                context, instance_uuid, context.request_id, values,
                fallback_action=fallback_action))


@base.NovaObjectRegistry.register
class InstanceActionList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (InstanceAction 1.0)
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('InstanceAction'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0')],
    }

    @classmethod
    @base.remotable
    def get_by_instance_uuid(cls, context, instance_uuid, limit=None,
                             marker=None, filters=None):
        """The instance's actions, newest first (paging: see the DB API)."""
        return base.obj_make_list(
            context, cls(context), InstanceAction,
            db.instance_action_get_all_by_instance(
                context, instance_uuid, limit=limit, marker=marker,
                filters=filters))


@base.NovaObjectRegistry.register
class InstanceActionEvent(base.NovaPersistentObject, base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.IntegerField(read_only=True),
        # What the step was: 'conductor_live_migrate_instance'...
        'event': fields.StringField(nullable=True),
        'action_id': fields.IntegerField(nullable=True),
        'start_time': fields.DateTimeField(nullable=True),
        'finish_time': fields.DateTimeField(nullable=True),
        # 'Success' or 'Error'; None while it runs.
        'result': fields.StringField(nullable=True),
        'traceback': fields.StringField(nullable=True),
        'host': fields.StringField(nullable=True),
        # Why it failed, in words fit for the server's users.
        'details': fields.StringField(nullable=True),
    }

    @staticmethod
    def _from_db_object(context, event, db_event):
        base.fill_from_db(event, db_event)
        event._context = context
        event.obj_reset_changes()
        return event

    @classmethod
    @base.remotable
    def event_start(cls, context, instance_uuid, event, host=None,
                    fallback_action=None):
        """Record that step ``event`` of the request's action began.

        ``fallback_action``: the kind of action to attach to when the
        context's request has no action of its own (its newest one).
        """
        values = {'event': event, 'host': host,
                  'start_time': timeutils.utcnow()}
        return cls._from_db_object(
            context, cls(), db.instance_action_event_start(
                context, instance_uuid, context.request_id, values,
                fallback_action=fallback_action))

    @classmethod
    @base.remotable
    def event_finish(cls, context, instance_uuid, event, result,
                     traceback=None, details=None, fallback_action=None):
        """Record how the step ``event`` begun earlier ended."""
        values = {'event': event, 'result': result,
                  'finish_time': timeutils.utcnow(),
                  'traceback': traceback, 'details': details}
        return cls._from_db_object(
            context, cls(), db.instance_action_event_finish(
                context, instance_uuid, context.request_id, values,
                fallback_action=fallback_action))

    @classmethod
    @base.remotable
    def event_record(cls, context, instance_uuid, event, result, host=None,
                     traceback=None, details=None, fallback_action=None):
        """Record a step that began and ended now, in one write."""
        now = timeutils.utcnow()
        values = {'event': event, 'host': host, 'start_time': now,
                  'finish_time': now, 'result': result,
                  'traceback': traceback, 'details': details}
        return cls._from_db_object(
            context, cls(), db.instance_action_event_start(
                context, instance_uuid, context.request_id, values,
                fallback_action=fallback_action))


@base.NovaObjectRegistry.register
class InstanceActionEventList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (InstanceActionEvent 1.0)
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('InstanceActionEvent'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0')],
    }

    @classmethod
    @base.remotable
    def get_by_action(cls, context, action_id):
        """The events of an action, newest first."""
        return base.obj_make_list(
            context, cls(context), InstanceActionEvent,
            db.instance_action_events_get(context, action_id))

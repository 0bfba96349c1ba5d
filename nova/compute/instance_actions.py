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

"""Recording instance actions and their events: the one place to do it.

The compute API starts an action when it accepts a request
(:func:`start_action`, under the request id of the API call); the
conductor and the computes record the steps they take for it as events
(:func:`event` around a step, :func:`record_event` for an outcome found
outside one), found by the request id their context carries over RPC.
Users read them with ``openstack server event list`` and ``show``.

Recording is a side record: none of these functions ever raises (a
missing action, a database error are logged and the operation goes on),
and :func:`event` re-raises the step's own exception unchanged.

Messages: an event that fails gives its action the message ``Error`` (as
Nova does, so a listing shows which requests failed); :func:`finish_action`
sets a message only when given one and never clears that ``Error``.
"""

import contextlib
import functools
import traceback as traceback_module

from oslo_log import log as logging

from nova import exception
from nova import objects
from nova.objects import instance_action as instance_action_obj

LOG = logging.getLogger(__name__)

# Action names, as Nova names them (users and tempest match on them).
CREATE = 'create'
DELETE = 'delete'
MIGRATE = 'migrate'
CONFIRM_RESIZE = 'confirmResize'
REVERT_RESIZE = 'revertResize'
LIVE_MIGRATION = 'live-migration'
LIVE_MIGRATION_CANCEL = 'live_migration_cancel'
LIVE_MIGRATION_FORCE_COMPLETE = 'live_migration_force_complete'
STOP = 'stop'
START = 'start'
REBOOT = 'reboot'
PAUSE = 'pause'
UNPAUSE = 'unpause'

SUCCESS = instance_action_obj.RESULT_SUCCESS
ERROR = instance_action_obj.RESULT_ERROR
# The message of an action whose request ended in a failure.
ERROR_MESSAGE = 'Error'


def error_details(error):
    """What users may read about ``error`` (an event's ``details``).

    A nova exception's message is written for users; any other exception
    gets only its class name, since its text may describe the deployment
    (as Nova does: the policy that shows details may be opened to users).
    A string is taken as the message itself.
    """
    if isinstance(error, str):
        message = error
    elif isinstance(error, exception.NovaException):
        message = error.format_message()
    else:
        message = type(error).__name__
    lines = str(message).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _format_traceback(error):
    if isinstance(error, BaseException) and error.__traceback__ is not None:
        return ''.join(traceback_module.format_exception(
            type(error), error, error.__traceback__))
    return None


def _recorded(what, instance_uuid, call, *args, **kwargs):
    """Run a recording call; on any failure log it and return None."""
    try:
        return call(*args, **kwargs)
    except exception.NotFound as e:
        # A request without an action (an internal task, say): nothing to
        # attach to, which is not the operation's problem.
        LOG.info('Not recording %s of instance %s: %s', what, instance_uuid,
                 e.format_message())
    except Exception:
        LOG.warning('Could not record %s of instance %s; the operation '
                    'goes on', what, instance_uuid, exc_info=True)
    return None


def start_action(context, instance_uuid, action):
    """Record that the context's request asked ``action`` of the instance.

    The action carries ``context.request_id``, the context's user and
    project and the time now. Returns the InstanceAction, or None if it
    could not be recorded (logged; the caller goes on).
    """
    return _recorded('action %s' % action, instance_uuid,
                     objects.InstanceAction.action_start, context,
                     instance_uuid, action)


def finish_action(context, instance_uuid, message=None, action=None):
    """Record that the action of ``context.request_id`` ended.

    ``message``: ``ERROR_MESSAGE`` when the request ended in a failure;
    None keeps the stored message (an event's ``Error`` included). The
    first finish time stays, so finishing twice is harmless. ``action``:
    the kind of action to finish when the request id has none (as for
    :func:`record_event`). Returns the InstanceAction, or None if it
    could not be recorded (logged).
    """
    return _recorded('the end of the action', instance_uuid,
                     objects.InstanceAction.action_finish, context,
                     instance_uuid, message=message, fallback_action=action)


@contextlib.contextmanager
def event(context, instance_uuid, name, host, action=None):
    """Record step ``name`` of the request's action around the block.

    The event starts when the block does and ends ``Success`` when it
    ends normally. An exception ends it ``Error``, with the exception's
    one-line message (see :func:`error_details`) in ``details`` and its
    traceback in ``traceback``, and is then re-raised unchanged.
    Recording failures are logged and never reach the block or its
    caller. ``action``: the kind of action to attach to when
    ``context.request_id`` has none (a periodic task's context).
    """
    started = _recorded('event %s' % name, instance_uuid,
                        objects.InstanceActionEvent.event_start, context,
                        instance_uuid, name, host=host,
                        fallback_action=action)
    try:
        yield
    except Exception as error:
        if started is not None:
            _recorded('event %s' % name, instance_uuid,
                      objects.InstanceActionEvent.event_finish, context,
                      instance_uuid, name, ERROR,
                      traceback=_format_traceback(error),
                      details=error_details(error), fallback_action=action)
        raise
    if started is not None:
        _recorded('event %s' % name, instance_uuid,
                  objects.InstanceActionEvent.event_finish, context,
                  instance_uuid, name, SUCCESS, fallback_action=action)


def record_event(context, instance_uuid, name, host, error=None,
                 action=None):
    """Record step ``name`` as begun and ended now, in one call.

    For outcomes found outside a ``with event(...)`` block, such as a
    recovery sweep finding a move that failed. ``error`` (an exception or
    a message) makes it ``Error`` with ``details`` (and the traceback of
    an exception that has one); without it the event is ``Success``.

    The event belongs to the action of ``context.request_id``. A task
    running under a request id of its own names in ``action`` the kind
    of action it concerns (``LIVE_MIGRATION``, say): the instance's
    newest action of that kind then gets the event. Only that kind, never
    "whatever came last": a delete asked meanwhile must not collect a
    migration's outcome. Returns the InstanceActionEvent, or None if it
    could not be recorded (logged).
    """
    if error is None:
        result, details, traceback = SUCCESS, None, None
    else:
        result = ERROR
        details = error_details(error)
        traceback = _format_traceback(error)
    return _recorded('event %s' % name, instance_uuid,
                     objects.InstanceActionEvent.event_record, context,
                     instance_uuid, name, result, host=host,
                     traceback=traceback, details=details,
                     fallback_action=action)


def wrap_event(name, action):
    """Decorate a service method ``(self, context, instance, ...)`` so its
    call is event ``name`` of the instance's ``action``.

    The method's host is ``self.host``. As :func:`event`: an exception
    makes the event ``Error`` and is re-raised unchanged.
    """
    def decorator(func):
        @functools.wraps(func)
        def wrapper(self, context, instance, *args, **kwargs):
            with event(context, instance.uuid, name, self.host,
                       action=action):
                return func(self, context, instance, *args, **kwargs)
        return wrapper
    return decorator

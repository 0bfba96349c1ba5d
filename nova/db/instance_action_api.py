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

"""The DB API of instance actions and their events.

Re-exported by ``nova.db.api``; call it through that module.

An action is one request made about an instance (a live migration, a
delete...), named by the request id of the API call that made it. Its
events are the steps services took for it, each with how it ended. An
event finds its action by the request id of the context recording it, as
Nova does; a caller without such an action (a periodic task runs with a
request id of its own) may name the kind of action to attach the event to
instead, and then gets the instance's newest action of that kind.

Every event start or finish marks its action updated (``updated_at``, what
the API's changes-since and changes-before filters compare), and an event
that ends in ``Error`` gives its action the message ``Error``, so a listing
shows which requests failed. Actions outlive their instance: nothing here
deletes them, and deleting an instance leaves them alone.
"""

import sqlalchemy as sa
from oslo_utils import timeutils

from nova.db import engine as db_engine
from nova.db import models
from nova.db import utils
from nova import exception

_ACTION = models.InstanceAction
_EVENT = models.InstanceActionEvent

RESULT_SUCCESS = 'Success'
RESULT_ERROR = 'Error'
RESULTS = (RESULT_SUCCESS, RESULT_ERROR)
# The message an action gets when one of its events failed.
ERROR_MESSAGE = 'Error'
# The list filters, compared with the action's updated_at.
FILTERS = ('changes-since', 'changes-before')


# Kept beside the only code that raises them; the API and the recording
# helpers catch them as exception.NotFound.
def _column_time(value):
    """A datetime as the columns hold it: naive UTC."""
    return utils.prepare_values(_ACTION, {'updated_at': value})['updated_at']


def _action_query(context, *conditions):
    stmt = sa.select(_ACTION).where(*conditions)
    return utils.filter_deleted(stmt, _ACTION, context)


def _newest(session, stmt, model):
    return session.scalars(
        stmt.order_by(model.created_at.desc(), model.id.desc())).first()


def _get_by_request_id(session, context, instance_uuid, request_id):
    # Newest first: one request makes one action of an instance, so this
    # only matters if a caller recorded the same request twice.
    return _newest(session, _action_query(
        context, _ACTION.instance_uuid == instance_uuid,
        _ACTION.request_id == request_id), _ACTION)


def _get_newest(session, context, instance_uuid, action=None):
    conditions = [_ACTION.instance_uuid == instance_uuid]
    if action is not None:
        conditions.append(_ACTION.action == action)
    return _newest(session, _action_query(context, *conditions), _ACTION)


def _action_for_event(session, context, instance_uuid, request_id,
                      fallback_action):
    row = _get_by_request_id(session, context, instance_uuid, request_id)
    if row is None and fallback_action is not None:
        row = _get_newest(session, context, instance_uuid, fallback_action)
    if row is None:
        raise exception.InstanceActionNotFound(
            request_id=request_id, instance_uuid=instance_uuid)
    return row


def _check_event_values(values):
    result = values.get('result')
    if result is not None and result not in RESULTS:
        raise exception.Invalid(
            reason='an event result is one of %s, not %r' % (
                ', '.join(RESULTS), result))
    return utils.prepare_values(_EVENT, values)


def _event_changed_action(action_row, values):
    """Mark the action updated by an event; failed events mark it Error."""
    action_row.updated_at = timeutils.utcnow()
    if values.get('result') == RESULT_ERROR:
        action_row.message = ERROR_MESSAGE


###################
# Actions

def instance_action_create(context, values):
    """Record an action: instance_uuid, action, request_id, user_id...

    ``updated_at`` starts equal to ``start_time``, so a new action passes
    a changes-since filter from before it started.
    """
    with db_engine.transaction() as session:
        row = add_action(session, values)
        session.flush()
        return utils.to_dict(row)


def add_action(session, values):
    """Add the row of a new action (see :func:`instance_action_create`) to
    ``session``'s transaction; returns it, not yet flushed."""
    values = utils.prepare_values(_ACTION, values)
    values.setdefault('start_time', timeutils.utcnow())
    values.setdefault('updated_at', values['start_time'])
    row = _ACTION(**values)
    session.add(row)
    return row


def instance_action_get_by_request_id(context, instance_uuid, request_id):
    """The instance's action of ``request_id``; InstanceActionNotFound."""
    with db_engine.transaction() as session:
        row = _get_by_request_id(session, context, instance_uuid,
                                 request_id)
        if row is None:
            raise exception.InstanceActionNotFound(
                request_id=request_id, instance_uuid=instance_uuid)
        return utils.to_dict(row)


def instance_action_get_newest(context, instance_uuid, action=None):
    """The instance's newest action (of kind ``action`` if given).

    InstanceActionNotFound (with no request id) if it has none.
    """
    with db_engine.transaction() as session:
        row = _get_newest(session, context, instance_uuid, action)
        if row is None:
            raise exception.InstanceActionNotFound(
                request_id=None, instance_uuid=instance_uuid)
        return utils.to_dict(row)


def instance_action_get_all_by_instance(context, instance_uuid, limit=None,
                                        marker=None, filters=None):
    """The instance's actions, newest first, one page of them.

    ``marker`` is the request id of the last action of the previous page
    (MarkerNotFound if the instance has no such action); ``limit`` caps
    the page. ``filters`` may hold ``changes-since`` and
    ``changes-before``: datetimes the action's ``updated_at`` must be at
    or after, at or before.
    """
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise exception.Invalid(
            reason='unknown instance action filter(s) %s'
                   % ', '.join(unknown))
    conditions = [_ACTION.instance_uuid == instance_uuid]
    if filters.get('changes-since') is not None:
        conditions.append(
            _ACTION.updated_at >= _column_time(filters['changes-since']))
    if filters.get('changes-before') is not None:
        conditions.append(
            _ACTION.updated_at <= _column_time(filters['changes-before']))
    stmt = _action_query(context, *conditions)
    with db_engine.transaction() as session:
        marker_row = None
        if marker is not None:
            # Unfiltered: the marker only says where the page starts.
            marker_row = _get_by_request_id(session, context, instance_uuid,
                                            marker)
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        stmt = utils.sort_and_page(stmt, _ACTION, 'created_at', 'desc',
                                   marker_row)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def instance_action_finish(context, instance_uuid, request_id, values,
                           fallback_action=None):
    """Finish the action of ``request_id``: ``finish_time``, ``message``.

    The first finish time stays (finishing twice, as a refusal seen by
    both the conductor and the API does, changes nothing but the
    message); a ``message`` of None leaves the stored one (an ``Error``
    from a failed event) as it is. Without an action of ``request_id``,
    the instance's newest ``fallback_action`` (if given) is finished.
    """
    values = utils.prepare_values(_ACTION, values)
    with db_engine.transaction() as session:
        row = _action_for_event(session, context, instance_uuid, request_id,
                                fallback_action)
        if row is None:
            raise exception.InstanceActionNotFound(
                request_id=request_id, instance_uuid=instance_uuid)
        now = timeutils.utcnow()
        if row.finish_time is None:
            row.finish_time = values.get('finish_time') or now
        if values.get('message') is not None:
            row.message = values['message']
        row.updated_at = now
        session.flush()
        return utils.to_dict(row)


###################
# Events

def instance_action_event_start(context, instance_uuid, request_id, values,
                                fallback_action=None):
    """Record an event of the action of ``request_id``.

    ``values``: ``event``, ``start_time``, ``host``; an event recorded
    when it has already ended also carries ``finish_time``, ``result``
    ('Success' or 'Error'), ``traceback`` and ``details``. Without an
    action for ``request_id``, the instance's newest action of kind
    ``fallback_action`` (if given) gets the event; InstanceActionNotFound
    otherwise.
    """
    values = _check_event_values(values)
    values.setdefault('start_time', timeutils.utcnow())
    with db_engine.transaction() as session:
        action_row = _action_for_event(session, context, instance_uuid,
                                       request_id, fallback_action)
        row = _EVENT(action_id=action_row.id, **values)
        session.add(row)
        _event_changed_action(action_row, values)
        session.flush()
        return utils.to_dict(row)


def instance_action_event_finish(context, instance_uuid, request_id, values,
                                 fallback_action=None):
    """Finish the newest unfinished event named ``values['event']``.

    ``values``: ``event``, ``result``, ``finish_time``, ``traceback``,
    ``details``. The action is found as for an event start;
    InstanceActionEventNotFound if it has no such event unfinished.
    """
    values = _check_event_values(values)
    values.setdefault('finish_time', timeutils.utcnow())
    with db_engine.transaction() as session:
        action_row = _action_for_event(session, context, instance_uuid,
                                       request_id, fallback_action)
        row = _newest(session, sa.select(_EVENT).where(
            _EVENT.action_id == action_row.id,
            _EVENT.event == values.get('event'),
            _EVENT.finish_time.is_(None),
            _EVENT.deleted == 0), _EVENT)
        if row is None:
            raise exception.InstanceActionEventNotFound(
                event=values.get('event'), action_id=action_row.id)
        for key, value in values.items():
            setattr(row, key, value)
        _event_changed_action(action_row, values)
        session.flush()
        return utils.to_dict(row)


def instance_action_events_get(context, action_id):
    """The events of an action, newest first (as Nova lists them)."""
    stmt = utils.filter_deleted(
        sa.select(_EVENT).where(_EVENT.action_id == action_id), _EVENT,
        context).order_by(_EVENT.created_at.desc(), _EVENT.id.desc())
    with db_engine.transaction() as session:
        return [utils.to_dict(row) for row in session.scalars(stmt)]

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

"""Placement writes a compute owes: made now, or kept until placement is back.

The end of a move (the migration's source allocations dropped, or the
instance's source allocations given back) and the end of a delete are
placement writes that must happen even if placement is away at that
moment. :func:`delete_allocations` and :func:`revert_move` try a few times
with a short backoff and, while placement stays unreachable, record the
write in the database (``pending_placement_work``, owned by this host);
:func:`settle`, a periodic task, makes the recorded writes when placement
answers again. Both writes are idempotent, so doing one twice (a crash
between the write and the deletion of its record) changes nothing.
"""

import datetime
import time

from oslo_log import log as logging
from oslo_utils import timeutils

from nova.db import api as db
from nova import exception
from nova import objects

LOG = logging.getLogger(__name__)

DELETE_ALLOCATIONS = 'delete_allocations'
REVERT_MOVE = 'revert_move'

# Seconds between the attempts made at once.
RETRY_DELAYS = (0.2, 0.5, 1.0)
# A recorded write waits this long after its n-th failure (doubling).
SETTLE_FIRST_DELAY = 10
SETTLE_MAX_DELAY = 300


def delete_allocations(context, reportclient, host, consumer_uuid):
    """Drop every allocation of ``consumer_uuid``; True if done now."""
    return _write(context, reportclient, host, DELETE_ALLOCATIONS,
                  consumer_uuid)


def revert_move(context, reportclient, host, instance_uuid, migration_uuid):
    """Give the instance back the source allocations of its migration."""
    return _write(context, reportclient, host, REVERT_MOVE, instance_uuid,
                  migration_uuid)


def _do(context, reportclient, kind, consumer_uuid, migration_uuid):
    if kind == DELETE_ALLOCATIONS:
        reportclient.delete_allocations(context, consumer_uuid)
    elif kind == REVERT_MOVE:
        if _instance_gone(context, consumer_uuid):
            # Deleted meanwhile: nothing may stay allocated to either.
            reportclient.delete_allocations(context, migration_uuid)
            reportclient.delete_allocations(context, consumer_uuid)
            return
        reportclient.revert_move_allocations(context, consumer_uuid,
                                             migration_uuid)
    else:
        raise ValueError('unknown placement work %r' % kind)


def _instance_gone(context, instance_uuid):
    try:
        objects.Instance.get_by_uuid(context, instance_uuid)
    except exception.InstanceNotFound:
        return True
    return False


def _write(context, reportclient, host, kind, consumer_uuid,
           migration_uuid=None, delays=None):
    delays = RETRY_DELAYS if delays is None else delays
    error = None
    for delay in (0,) + tuple(delays):
        if delay:
            time.sleep(delay)
        try:
            _do(context, reportclient, kind, consumer_uuid, migration_uuid)
            return True
        except exception.PlacementUnavailable as exc:
            error = exc
    work = db.pending_placement_work_record(context, {
        'host': host, 'kind': kind, 'consumer_uuid': consumer_uuid,
        'migration_uuid': migration_uuid, 'attempts': len(delays) + 1,
        'last_error': error.format_message(),
        'next_attempt_at': _next_attempt(len(delays) + 1)})
    LOG.warning('Placement is unreachable (%s); %s of consumer %s is kept '
                'as pending work %d of %s and made when placement answers',
                error.format_message(), kind, consumer_uuid, work['id'],
                host)
    return False


def _next_attempt(attempts):
    delay = min(SETTLE_MAX_DELAY,
                SETTLE_FIRST_DELAY * 2 ** max(0, attempts - 1))
    return timeutils.utcnow() + datetime.timedelta(seconds=delay)


def pending(context, host):
    """The placement writes ``host`` still owes (DB dicts)."""
    return db.pending_placement_work_get_by_host(context, host)


def settle(context, reportclient, host, force=False):
    """Make the writes ``host`` owes whose time has come (all: ``force``).

    Returns how many are done; the rest stay recorded.
    """
    done = 0
    now = timeutils.utcnow()
    for work in pending(context, host):
        due = work['next_attempt_at']
        if not force and due is not None and due > now:
            continue
        try:
            _do(context, reportclient, work['kind'], work['consumer_uuid'],
                work['migration_uuid'])
        except exception.PlacementUnavailable as exc:
            _failed(context, work, exc.format_message())
            continue
        except Exception as exc:
            LOG.exception('Pending placement work %d (%s of %s) failed',
                          work['id'], work['kind'], work['consumer_uuid'])
            _failed(context, work, '%s: %s' % (type(exc).__name__, exc))
            continue
        db.pending_placement_work_delete(context, work['id'])
        done += 1
        LOG.info('Made the pending placement write %s of consumer %s (%d '
                 'attempt(s) before)', work['kind'], work['consumer_uuid'],
                 work['attempts'])
    return done


def settle_consumer(context, reportclient, consumer_uuid):
    """Make now every write owed for ``consumer_uuid``, by any host.

    Called before a new move or a delete of the instance: a write of an
    earlier move made afterwards would undo them. Raises
    PlacementUnavailable (nothing changed) when placement is still away.
    """
    for work in db.pending_placement_work_get_by_consumer(context,
                                                          consumer_uuid):
        _do(context, reportclient, work['kind'], work['consumer_uuid'],
            work['migration_uuid'])
        db.pending_placement_work_delete(context, work['id'])
        LOG.info('Made the pending placement write %s of consumer %s '
                 'before its next operation', work['kind'], consumer_uuid)


def _failed(context, work, error):
    attempts = work['attempts'] + 1
    db.pending_placement_work_update(context, work['id'], {
        'attempts': attempts, 'last_error': error,
        'next_attempt_at': _next_attempt(attempts)})

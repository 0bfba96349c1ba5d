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

"""What the compute side of every move does the same way.

A live and a cold migration that fail before the guest is settled on the
destination are undone alike: the destination removes what it received
and its resource tracker erases the namespaces it claimed, and placement
gets the source allocations back in one write. A namespace the
destination could not erase is quarantined there (its placement unit
moved to the provider's quarantine consumer), so nothing of the move
needs to be kept to hold it.
"""

from oslo_concurrency import lockutils
from oslo_log import log as logging

from nova.compute import placement_work
from nova import exception
from nova import objects
from nova import servicegroup

LOG = logging.getLogger(__name__)


def run_step(what, func, *args, **kwargs):
    """Run one step of an undo; log a failure and go on to the next.

    Returns the step's result, or None when it failed.
    """
    try:
        return func(*args, **kwargs)
    except Exception:
        LOG.exception('Could not %s; going on with the rest', what)
        return None


def incoming_guest_lock(host, instance_uuid):
    """The lock of the steps a destination takes on an incoming guest.

    A cold migration's start of the guest, its rollback and revert, and
    the recovery's look at the guest, for one instance on one host, run
    one at a time: a call that timed out at its caller may still be
    running, and the next step waits for it and sees what it did.
    """
    return lockutils.lock('incoming-guest-%s-%s' % (host, instance_uuid))


def host_is_up(context, host):
    """Whether ``host``'s nova-compute is up (its heartbeat is recent)."""
    try:
        service = objects.Service.get_by_compute_host(context, host)
    except exception.NotFound:
        return False
    return servicegroup.service_is_up(service)


def incoming_resources(instance, migration):
    """This host's claim for ``migration`` (its migration context's new
    resources), or None when the instance holds no claim of that move."""
    migration_context = instance.migration_context
    if (migration_context is None or
            migration_context.migration_id != migration.id):
        return None
    return migration_context.new_resources


def undo_at_destination(context, reportclient, host, instance, migration,
                        rollback_at_destination, outcome, dest_clean=None):
    """Undo a move on its destination and in placement.

    ``rollback_at_destination(context, instance, migration, host=dest,
    outcome=outcome)`` is the RPC call that cleans the destination; it
    returns True when the destination's namespaces were erased and are
    free. Placement gets the source allocations back (now, or as work
    ``host`` keeps until placement answers). Reloads ``instance`` and
    drops its migration context (not saved). Every step runs even if one
    before it failed. Returns whether the destination is clean.
    ``dest_clean``: the destination's answer, when the caller asked it
    already (then it is not asked again).
    """
    dest = migration.dest_compute
    if dest_clean is None:
        try:
            dest_clean = rollback_at_destination(
                context, instance, migration, host=dest, outcome=outcome)
        except Exception:
            # Its resource update quarantines what nobody holds any more.
            LOG.exception('Rollback on destination %s failed', dest)
            dest_clean = False
    run_step('give instance %s its source allocations back' % instance.uuid,
             placement_work.revert_move, context, reportclient, host,
             instance.uuid, migration.uuid)
    run_step('reload instance %s' % instance.uuid, instance.refresh)
    instance.drop_migration_context()
    return dest_clean


def release_instance(instance, task_state):
    """The move is over: clear ``task_state`` (and save the dropped
    migration context). An instance another operation took meanwhile is
    left to it."""
    instance.task_state = None
    try:
        instance.save(expected_task_state=[task_state])
    except exception.UnexpectedTaskStateError as err:
        LOG.info('Instance %s is not %s any more (%s); leaving it as it is',
                 instance.uuid, task_state, err)


def record_fault(context, instance, error, host):
    """Tell the user why the move failed: the server's fault."""
    objects.InstanceFault.from_exception(context, instance.uuid, error,
                                         host=host).create()

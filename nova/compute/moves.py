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

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def incoming_resources(instance, migration):
    """This host's claim for ``migration`` (its migration context's new
    resources), or None when the instance holds no claim of that move."""
    migration_context = instance.migration_context
    if (migration_context is None or
            migration_context.migration_id != migration.id):
        return None
    return migration_context.new_resources


def undo_at_destination(context, reportclient, instance, migration,
                        rollback_at_destination, outcome):
    """Undo a move on its destination and in placement.

    ``rollback_at_destination(context, instance, migration, host=dest,
    outcome=outcome)`` is the RPC call that cleans the destination; it
    returns True when the destination's namespaces were erased and are
    free. Reloads ``instance`` and drops its migration context (not
    saved). Returns that boolean.
    """
    dest = migration.dest_compute
    try:
        dest_clean = rollback_at_destination(context, instance, migration,
                                             host=dest, outcome=outcome)
    except Exception:
        # Its resource update quarantines what nobody holds any more.
        LOG.exception('Rollback on destination %s failed', dest)
        dest_clean = False
    reportclient.revert_move_allocations(context, instance.uuid,
                                         migration.uuid)
    instance.refresh()
    instance.drop_migration_context()
    return dest_clean

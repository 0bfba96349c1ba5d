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
and erases the namespaces it claimed, and placement gets the source
allocations back in one write. When the destination could not erase, its
namespaces stay reserved: the migration consumer keeps their allocations
and the instance keeps the migration context that names them.
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def undo_at_destination(context, reportclient, instance, migration,
                        rollback_at_destination):
    """Undo a move on its destination and in placement.

    ``rollback_at_destination(context, instance, migration, host=dest)``
    is the RPC call that cleans the destination; it returns True when the
    destination's namespaces were erased and released. Reloads
    ``instance`` and drops its migration context (not saved) when they
    were. Returns that boolean.
    """
    dest = migration.dest_compute
    try:
        dest_clean = rollback_at_destination(context, instance, migration,
                                             host=dest)
    except Exception:
        LOG.exception('Rollback on destination %s failed', dest)
        dest_clean = False
    reportclient.revert_move_allocations(
        context, instance.uuid, migration.uuid,
        keep_destination=not dest_clean)
    instance.refresh()
    if dest_clean:
        instance.drop_migration_context()
    return dest_clean

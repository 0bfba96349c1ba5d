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

"""The stable states of an instance (``instance.vm_state``).

A vm_state says where an instance rests between operations; what it is
doing right now is its task_state (:mod:`nova.compute.task_states`). The
strings are part of the REST API (the ``OS-EXT-STS:vm_state`` attribute),
so they never change.
"""

# The instance is being created and has not run yet.
BUILDING = 'building'
# The instance runs.
ACTIVE = 'active'
# The guest is frozen in memory.
PAUSED = 'paused'
# The guest's memory was saved to disk and the guest stopped.
SUSPENDED = 'suspended'
# The guest is powered off; its disks are kept.
STOPPED = 'stopped'
# A resize or cold migration finished and waits for confirm or revert.
RESIZED = 'resized'
# The instance was deleted (kept in the database, soft-deleted).
DELETED = 'deleted'
# An operation failed in a way that needs an operator.
ERROR = 'error'

ALL = (BUILDING, ACTIVE, PAUSED, SUSPENDED, STOPPED, RESIZED, DELETED,
       ERROR)

# States from which a live migration may start: the guest must be running
# (or paused) so there is memory to copy.
ALLOW_LIVE_MIGRATION = (ACTIVE, PAUSED)
# A cold migration stops the guest and starts it on the destination.
ALLOW_COLD_MIGRATION = (ACTIVE,)

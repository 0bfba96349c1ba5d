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

"""What an instance is busy with (``instance.task_state``).

``None`` means idle. Each operation sets a task_state when it starts and
clears it when it ends; ``Instance.save(expected_task_state=...)`` makes
that a compare-and-swap, so two operations cannot start on the same
instance at once. The strings are part of the REST API.
"""

# Building.
SCHEDULING = 'scheduling'
SPAWNING = 'spawning'

# Power actions.
POWERING_OFF = 'powering-off'
POWERING_ON = 'powering-on'
REBOOTING = 'rebooting'
REBOOTING_HARD = 'rebooting_hard'
PAUSING = 'pausing'
UNPAUSING = 'unpausing'
SUSPENDING = 'suspending'
RESUMING = 'resuming'

# Resize and cold migration.
RESIZE_PREP = 'resize_prep'
RESIZE_MIGRATING = 'resize_migrating'
RESIZE_MIGRATED = 'resize_migrated'
RESIZE_FINISH = 'resize_finish'
RESIZE_REVERTING = 'resize_reverting'
RESIZE_CONFIRMING = 'resize_confirming'

# Live migration: set by the API, kept until the instance runs on one host
# again (the destination on success, the source on rollback).
MIGRATING = 'migrating'

# Deleting.
DELETING = 'deleting'

ALL = (SCHEDULING, SPAWNING, POWERING_OFF, POWERING_ON, REBOOTING,
       REBOOTING_HARD, PAUSING,
       UNPAUSING, SUSPENDING, RESUMING, RESIZE_PREP, RESIZE_MIGRATING,
       RESIZE_MIGRATED, RESIZE_FINISH, RESIZE_REVERTING, RESIZE_CONFIRMING,
       MIGRATING, DELETING)

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

"""The shape of a conductor task.

An operation that changes several owners of state (placement, the
database, compute hosts) runs as a task: ``_execute()`` does the steps and
records which of them took effect, ``rollback()`` undoes exactly those.
:meth:`TaskBase.execute` ties the two together, so no caller can forget
the undo.
"""

from oslo_log import log as logging
from oslo_utils import excutils

LOG = logging.getLogger(__name__)


class TaskBase:
    """One operation on one instance, with its undo."""

    def __init__(self, context, instance):
        self.context = context
        self.instance = instance

    def execute(self):
        """Run the task; on any failure roll back, then re-raise."""
        try:
            return self._execute()
        except Exception as ex:
            with excutils.save_and_reraise_exception():
                try:
                    self.rollback(ex)
                except Exception:
                    # The caller must see why the task failed, not why
                    # its undo failed too; the latter goes to the log.
                    LOG.exception('Rollback of %s for instance %s failed',
                                  type(self).__name__, self.instance.uuid)

    def _execute(self):
        raise NotImplementedError()

    def rollback(self, ex):
        """Undo what ``_execute`` did before it failed with ``ex``."""
        raise NotImplementedError()

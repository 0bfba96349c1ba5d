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

"""Power actions in the internal compute API: stop, start, reboot, pause
and unpause.

:class:`PowerAPIMixin` is part of :class:`nova.compute.api.API` (it uses
its ``compute_rpcapi``). Each action checks the instance's vm_state and
task_state against :data:`RULES` (Nova's), takes the instance with a
compare-and-swap on both (of two concurrent requests exactly one gets
past it; a migration holds the task_state, so none starts during one),
records the instance action and casts to the instance's host, which
clears the task_state when done (:mod:`nova.compute.power`).
"""

import collections

from oslo_log import log as logging
from oslo_utils import excutils

from nova.compute import instance_actions
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception

LOG = logging.getLogger(__name__)

SOFT = 'SOFT'
HARD = 'HARD'

Rule = collections.namedtuple(
    'Rule', 'method vm_states task_states task_state action')

# What each action accepts and the task_state it holds while it runs.
# A hard reboot may take over a soft reboot that does not end (as Nova).
RULES = {
    'stop': Rule('stop', (vm_states.ACTIVE, vm_states.ERROR), (None,),
                 task_states.POWERING_OFF, instance_actions.STOP),
    'start': Rule('start', (vm_states.STOPPED,), (None,),
                  task_states.POWERING_ON, instance_actions.START),
    'reboot_soft': Rule('reboot', (vm_states.ACTIVE,), (None,),
                        task_states.REBOOTING, instance_actions.REBOOT),
    'reboot_hard': Rule('reboot', (vm_states.ACTIVE, vm_states.STOPPED,
                                   vm_states.PAUSED, vm_states.ERROR),
                        (None, task_states.REBOOTING),
                        task_states.REBOOTING_HARD, instance_actions.REBOOT),
    'pause': Rule('pause', (vm_states.ACTIVE,), (None,),
                  task_states.PAUSING, instance_actions.PAUSE),
    'unpause': Rule('unpause', (vm_states.PAUSED,), (None,),
                    task_states.UNPAUSING, instance_actions.UNPAUSE),
}


def check_state(instance, rule):
    """InstanceInvalidState / InstanceNotReady (409s) unless ``rule``
    allows the instance's current state."""
    if instance.vm_state not in rule.vm_states:
        raise exception.InstanceInvalidState(
            instance_uuid=instance.uuid, attr='vm_state',
            state=instance.vm_state, method=rule.method)
    if instance.task_state not in rule.task_states:
        raise exception.InstanceInvalidState(
            instance_uuid=instance.uuid, attr='task_state',
            state=instance.task_state, method=rule.method)
    if not instance.host:
        raise exception.InstanceNotReady(
            instance_uuid=instance.uuid, method=rule.method,
            reason='it has no compute host (it never started on one); '
                   'delete it or rebuild it instead')


class PowerAPIMixin:
    """Power operations of the compute API."""

    def stop(self, context, instance, clean_shutdown=True):
        """Stop the guest; it keeps its namespaces and their data."""
        self._power_action(context, instance, RULES['stop'],
                           self.compute_rpcapi.stop_instance,
                           clean_shutdown=clean_shutdown)

    def start(self, context, instance):
        """Start a stopped guest on the namespaces it kept."""
        self._power_action(context, instance, RULES['start'],
                           self.compute_rpcapi.start_instance)

    def reboot(self, context, instance, reboot_type):
        """Reboot the guest: ``SOFT`` (ACPI, then hard if it does not
        obey) or ``HARD``."""
        rule = RULES['reboot_hard' if reboot_type == HARD else 'reboot_soft']
        self._power_action(context, instance, rule,
                           self.compute_rpcapi.reboot_instance,
                           reboot_type=reboot_type)

    def pause(self, context, instance):
        self._power_action(context, instance, RULES['pause'],
                           self.compute_rpcapi.pause_instance)

    def unpause(self, context, instance):
        self._power_action(context, instance, RULES['unpause'],
                           self.compute_rpcapi.unpause_instance)

    @staticmethod
    def _power_action(context, instance, rule, cast, **kwargs):
        check_state(instance, rule)
        previous = instance.task_state
        instance.task_state = rule.task_state
        instance.save(expected_task_state=list(rule.task_states),
                      expected_vm_state=list(rule.vm_states))
        instance_actions.start_action(context, instance.uuid, rule.action)
        LOG.info('%s of instance %s on %s accepted', rule.action,
                 instance.uuid, instance.host)
        try:
            cast(context, instance, **kwargs)
        except Exception:
            with excutils.save_and_reraise_exception():
                instance_actions.finish_action(
                    context, instance.uuid,
                    message=instance_actions.ERROR_MESSAGE)
                instance.task_state = previous
                try:
                    instance.save(expected_task_state=[rule.task_state])
                except exception.UnexpectedTaskStateError:
                    LOG.info('Instance %s changed meanwhile; left as is',
                             instance.uuid)

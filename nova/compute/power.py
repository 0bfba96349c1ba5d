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

"""The power actions on the compute host: stop, start, reboot, pause,
unpause (the server side of the 1.5 RPC methods of the same names).

The compute API took the instance with a compare-and-swap on its
task_state (``powering-off``, ``powering-on``, ``rebooting``,
``rebooting_hard``, ``pausing``, ``unpausing``); each method here does
the guest's part and clears that task_state, with the new vm_state and
the power state the hypervisor reports, in one compare-and-swap again.

The instance keeps its namespaces through every one of them: a stopped
or paused guest's data stays in its namespaces, the resource tracker
keeps them assigned (it reads the holders from the database, not from
the running domains) and placement keeps counting them.

A failure leaves the vm_state as it was, clears the task_state (so the
user may try again, as in Nova), records a fault and the event's error,
and stores the power state the hypervisor now reports.

A request that never arrives (nova-api stopped between taking the
instance and sending it, or the message was lost) would leave the
task_state set for good: the host's periodic sweep sends it again once
the task_state is older than ``[compute]power_action_stuck_timeout`` and
no such request runs on the instance here. A service that died during an
action finishes it when it starts again.

A delete (``deleting``) is settled the same two ways, though it is not a
power action: its request is sent again, and a delete a stopped service
left half done is run again at start (every step of
``terminate_instance`` may run twice).
"""

import collections
import contextlib
import threading
import time

from oslo_log import log as logging

from nova.compute import instance_actions as actions
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova import exception
from nova import objects
from nova.objects import base as objects_base

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


# The request (compute RPC API method, its arguments) to send again for a
# power action's task_state. A stop sent again asks for a clean shutdown:
# the guest never got the first request.
RESEND = {
    task_states.POWERING_OFF: ('stop_instance', {'clean_shutdown': True}),
    task_states.POWERING_ON: ('start_instance', {}),
    task_states.PAUSING: ('pause_instance', {}),
    task_states.UNPAUSING: ('unpause_instance', {}),
    task_states.REBOOTING: ('reboot_instance', {'reboot_type': 'SOFT'}),
    task_states.REBOOTING_HARD: ('reboot_instance', {'reboot_type': 'HARD'}),
    task_states.DELETING: ('terminate_instance', {}),
}


class PowerMixin:
    """Power actions of the compute manager (see the module docstring).

    Uses the manager's ``host``, ``driver`` and ``compute_rpcapi``.
    """

    def _init_power(self):
        self._power_lock = threading.Lock()
        # Instance uuid -> power actions (and deletes) running on it in
        # this process.
        self._power_running = collections.Counter()
        # Instance uuid -> (task_state, time.monotonic()) of a request
        # the sweep sent again: not sent again before the timeout.
        self._power_resent = {}

    def stop_instance(self, context, instance, clean_shutdown=True):
        """Stop the guest (cleanly first if asked); vm_state stopped."""
        timeout = CONF.compute.shutdown_timeout if clean_shutdown else 0
        self._power_action(
            context, instance, actions.STOP, 'compute_stop_instance',
            [task_states.POWERING_OFF], vm_states.STOPPED,
            lambda: self.driver.power_off(instance, timeout=timeout))

    def start_instance(self, context, instance):
        """Start the stopped guest on its namespaces; vm_state active."""
        self._power_action(
            context, instance, actions.START, 'compute_start_instance',
            [task_states.POWERING_ON], vm_states.ACTIVE,
            lambda: self.driver.power_on(context, instance))

    def reboot_instance(self, context, instance, reboot_type):
        """Reboot the guest, SOFT or HARD; vm_state active."""
        expected = (task_states.REBOOTING_HARD if reboot_type == 'HARD'
                    else task_states.REBOOTING)
        self._power_action(
            context, instance, actions.REBOOT, 'compute_reboot_instance',
            [expected], vm_states.ACTIVE,
            lambda: self.driver.reboot(
                context, instance, reboot_type,
                timeout=CONF.compute.shutdown_timeout))

    def pause_instance(self, context, instance):
        """Pause the guest; vm_state paused."""
        self._power_action(
            context, instance, actions.PAUSE, 'compute_pause_instance',
            [task_states.PAUSING], vm_states.PAUSED,
            lambda: self.driver.pause(instance))

    def unpause_instance(self, context, instance):
        """Let the paused guest run again; vm_state active."""
        self._power_action(
            context, instance, actions.UNPAUSE, 'compute_unpause_instance',
            [task_states.UNPAUSING], vm_states.ACTIVE,
            lambda: self.driver.unpause(instance))

    # -- after a restart ------------------------------------------------

    def _settle_power_actions(self, context):
        """Finish the power actions a stopped service left half done.

        Run at start, before this host takes requests. A task_state of a
        power action on an instance of this host means the service died
        before it cleared it: the action runs again, whatever the guest
        now is (stop, start, pause and unpause do nothing to a guest that
        is already where they lead; an interrupted reboot whose guest
        runs is done, one whose guest does not is made hard), so the
        instance ends where its user asked. Stops are made at once: the
        guest had its time for a clean shutdown before the crash. A
        ``deleting`` instance is deleted: nobody else would finish it,
        and nova-api refuses a second delete while it is ``deleting``;
        so is one whose record says ``deleted`` but was not removed.
        """
        instances = objects.InstanceList.get_by_host(
            context, self.host, expected_attrs=['flavor', 'resources'])
        for instance in instances:
            finish = self._finisher(context, instance)
            if finish is None:
                continue
            LOG.info('Instance %s was left %s by a stopped service; '
                     'finishing it', instance.uuid, instance.task_state)
            try:
                finish()
            except Exception:
                LOG.exception('Could not finish the %s of instance %s',
                              instance.task_state, instance.uuid)

    def _finisher(self, context, instance):
        task_state = instance.task_state
        if (task_state == task_states.DELETING or
                instance.vm_state == vm_states.DELETED):
            return lambda: self.terminate_instance(context, instance)
        if task_state == task_states.POWERING_OFF:
            return lambda: self.stop_instance(context, instance,
                                              clean_shutdown=False)
        if task_state == task_states.POWERING_ON:
            return lambda: self.start_instance(context, instance)
        if task_state == task_states.PAUSING:
            return lambda: self.pause_instance(context, instance)
        if task_state == task_states.UNPAUSING:
            return lambda: self.unpause_instance(context, instance)
        if task_state not in (task_states.REBOOTING,
                              task_states.REBOOTING_HARD):
            return None
        running = (self._hypervisor_power_state(instance) ==
                   power_state.RUNNING)

        def reboot_unless_running():
            # A guest that runs has rebooted, or had no need to.
            if not running:
                self.driver.reboot(context, instance, 'HARD')

        return lambda: self._power_action(
            context, instance, actions.REBOOT, 'compute_reboot_instance',
            [task_states.REBOOTING, task_states.REBOOTING_HARD],
            vm_states.ACTIVE, reboot_unless_running)

    def _resend_lost_power_requests(self, context):
        """Send again the power requests that never reached this host.

        Level-triggered, for the periodic sweep: an instance of this host
        whose task_state is a power action's or ``deleting``, unchanged
        for ``[compute]power_action_stuck_timeout`` seconds, with no such
        request running on it in this process, lost its request (nova-api
        stopped between taking the instance and sending it, or the
        message was lost). The same request goes to this host again; a
        request that was only slow finds the task_state cleared (or the
        instance gone) by the first one to run and does nothing (see
        ``_run_power_action`` and ``terminate_instance``).
        Returns the uuids of the instances whose request was sent again.
        """
        timeout = CONF.compute.power_action_stuck_timeout
        resent = []
        # Every tick: only the few instances in a power action or a
        # delete are read.
        for instance in objects.InstanceList.get_by_filters(
                context, {'host': self.host, 'task_state': sorted(RESEND)},
                expected_attrs=['flavor', 'resources']):
            method, kwargs = RESEND[instance.task_state]
            with self._power_lock:
                if self._power_running[instance.uuid]:
                    continue
                last = self._power_resent.get(instance.uuid)
            if (last is not None and last[0] == instance.task_state and
                    time.monotonic() - last[1] < timeout):
                continue
            if not objects_base.unchanged_for(instance, timeout):
                continue  # its request may still be on its way
            LOG.warning('Instance %s has been %s for over %d s and no '
                        'request for it runs on %s: sending it again',
                        instance.uuid, instance.task_state, timeout,
                        self.host)
            with self._power_lock:
                self._power_resent[instance.uuid] = (instance.task_state,
                                                     time.monotonic())
            try:
                getattr(self.compute_rpcapi, method)(context, instance,
                                                     **kwargs)
            except Exception:
                LOG.exception('Could not send the %s request of instance '
                              '%s again; trying at the next sweep',
                              instance.task_state, instance.uuid)
                with self._power_lock:
                    self._power_resent.pop(instance.uuid, None)
                continue
            resent.append(instance.uuid)
        return resent

    @contextlib.contextmanager
    def _request_running(self, instance_uuid):
        """A power action or a delete of the instance runs in this process:
        the sweep does not send its request again meanwhile."""
        with self._power_lock:
            self._power_running[instance_uuid] += 1
        try:
            yield
        finally:
            with self._power_lock:
                self._power_running[instance_uuid] -= 1
                if not self._power_running[instance_uuid]:
                    del self._power_running[instance_uuid]
                self._power_resent.pop(instance_uuid, None)

    def _power_action(self, context, instance, action, event_name,
                      expected_task_states, done_vm_state, work):
        with self._request_running(instance.uuid):
            self._run_power_action(context, instance, action, event_name,
                                   expected_task_states, done_vm_state,
                                   work)

    def _run_power_action(self, context, instance, action, event_name,
                          expected_task_states, done_vm_state, work):
        instance.refresh()
        if instance.task_state not in expected_task_states:
            # Another request took the instance over (a hard reboot over
            # a soft one): that one finishes it.
            LOG.info('Instance %s is %s, not %s: leaving %s to it',
                     instance.uuid, instance.task_state,
                     '/'.join(expected_task_states), event_name)
            return
        try:
            with actions.event(context, instance.uuid, event_name,
                               self.host, action=action):
                work()
        except Exception as err:
            LOG.exception('%s of instance %s failed', event_name,
                          instance.uuid)
            self._power_action_failed(context, instance, action, err,
                                      expected_task_states)
            return
        instance.vm_state = done_vm_state
        instance.task_state = None
        instance.power_state = self._hypervisor_power_state(instance)
        try:
            instance.save(expected_task_state=expected_task_states)
        except exception.UnexpectedTaskStateError as err:
            LOG.info('Instance %s changed while %s ran (%s); the request '
                     'that changed it records the outcome', instance.uuid,
                     event_name, err.format_message())
            return
        actions.finish_action(context, instance.uuid, action=action)
        LOG.info('Instance %s is %s (power state %s) after %s',
                 instance.uuid, done_vm_state,
                 power_state.STATE_MAP.get(instance.power_state),
                 event_name)

    def _power_action_failed(self, context, instance, action, error,
                             expected_task_states):
        try:
            objects.InstanceFault.from_exception(
                context, instance.uuid, error, host=self.host).create()
        except Exception:
            LOG.warning('Could not record the fault of instance %s',
                        instance.uuid, exc_info=True)
        actions.finish_action(context, instance.uuid,
                              message=actions.ERROR_MESSAGE, action=action)
        instance.task_state = None
        instance.power_state = self._hypervisor_power_state(instance)
        try:
            instance.save(expected_task_state=expected_task_states)
        except exception.UnexpectedTaskStateError:
            LOG.info('Instance %s was taken over meanwhile; left as is',
                     instance.uuid)

    def _hypervisor_power_state(self, instance):
        try:
            return self.driver.get_info(instance).state
        except Exception:
            LOG.warning('Could not read the power state of instance %s',
                        instance.uuid, exc_info=True)
            return power_state.NOSTATE

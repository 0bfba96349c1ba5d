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

"""Power actions of LibvirtDriver: stop, start, pause, unpause, reboot.

A stopped guest keeps its persistent definition: the domain XML names
the guest's namespaces, so starting it again runs it on the same
namespaces with the data the guest left there. Nothing here erases or
releases a namespace; the instance keeps holding them (resource tracker,
placement and the database all still count them as the instance's).

Pause is libvirt's suspend (the guest's vCPUs stop, its memory and
namespaces stay mapped), unpause its resume.
"""

import time

from oslo_log import log as logging

from nova.compute import power_state
from nova import exception

LOG = logging.getLogger(__name__)

# How often the guest's state is polled while it shuts itself down.
SHUTDOWN_POLL_SECONDS = 0.2

REBOOT_SOFT = 'SOFT'
REBOOT_HARD = 'HARD'


class PowerMixin:
    """Power methods of LibvirtDriver (see the module docstring).

    Uses the driver's ``_host`` (libvirt connection) and ``_conf``.
    """

    def power_off(self, instance, timeout=0):
        """Stop the guest; its definition and namespaces stay.

        With ``timeout`` > 0 the guest is first asked to power itself off
        (ACPI) and given that many seconds; a guest that is still up then
        (or refused the request) is stopped at once. Returns True when
        the guest shut itself down, False when it had to be stopped (or
        was not running).
        """
        guest = self._host.get_guest(instance)
        if not guest.is_active():
            LOG.info('Instance %s is not running; nothing to stop',
                     instance.uuid)
            return False
        if timeout > 0 and self._shutdown_cleanly(guest, instance, timeout):
            LOG.info('Instance %s shut down cleanly', instance.uuid)
            return True
        self._stop_at_once(guest, instance)
        return False

    def _shutdown_cleanly(self, guest, instance, timeout):
        """Ask the guest OS to power off; True if it did in ``timeout``."""
        libvirt = self._host.libvirt
        try:
            guest.shutdown()
        except libvirt.libvirtError as exc:
            if not self._still_active(guest):
                return True  # it stopped meanwhile
            LOG.warning('Instance %s did not take the shutdown request '
                        '(%s); stopping it', instance.uuid, exc)
            return False
        deadline = time.monotonic() + timeout
        while self._still_active(guest):
            if time.monotonic() >= deadline:
                LOG.info('Instance %s still ran %d s after the shutdown '
                         'request; stopping it', instance.uuid, timeout)
                return False
            time.sleep(SHUTDOWN_POLL_SECONDS)
        return True

    def _stop_at_once(self, guest, instance):
        libvirt = self._host.libvirt
        try:
            guest.poweroff()
        except libvirt.libvirtError as exc:
            # "not running": it stopped between our check and the call.
            if (exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
                    and not self._still_active(guest)):
                return
            raise exception.InstancePowerOffFailure(
                instance_uuid=instance.uuid, reason=exc) from exc
        LOG.info('Instance %s stopped', instance.uuid)

    def power_on(self, context, instance):
        """Start the stopped guest from its definition.

        Its namespaces are checked first: they must still be this host's
        and not back another running guest (the definition points at
        their paths, and the guest must find its own data there).
        """
        guest = self._host.get_guest(instance)
        if guest.is_active():
            LOG.info('Instance %s runs already', instance.uuid)
            return
        self._check_namespaces_for_start(instance)
        libvirt = self._host.libvirt
        try:
            guest.launch()
        except libvirt.libvirtError as exc:
            raise exception.InstancePowerOnFailure(
                instance_uuid=instance.uuid, reason=exc) from exc
        LOG.info('Instance %s started again on its namespaces %s',
                 instance.uuid, ', '.join(
                     r.identifier for r in self._instance_resources(instance))
                 or '(none)')

    def _check_namespaces_for_start(self, instance):
        def fail(reason):
            return exception.InstancePowerOnFailure(
                instance_uuid=instance.uuid, reason=reason)
        self.ordered_local_devices(
            instance, self._instance_resources(instance),
            'its persistent memory is not usable here', fail)

    def pause(self, instance):
        """Stop the guest's vCPUs; memory and namespaces stay mapped."""
        guest = self._host.get_guest(instance)
        if guest.get_power_state() != power_state.PAUSED:
            guest.pause()
        LOG.info('Paused instance %s', instance.uuid)

    def unpause(self, instance):
        """Let the paused guest run again."""
        guest = self._host.get_guest(instance)
        if guest.get_power_state() == power_state.PAUSED:
            guest.resume()
        LOG.info('Unpaused instance %s', instance.uuid)

    def reboot(self, context, instance, reboot_type, timeout=0):
        """Restart the guest on the same definition and namespaces.

        SOFT: the guest is asked to shut down (ACPI) and given
        ``timeout`` seconds, then started again; a guest that does not
        obey gets a hard reboot. HARD: the guest is stopped at once (if
        it runs, paused or not) and started again. Either way it ends up
        running.
        """
        guest = self._host.get_guest(instance)
        soft = reboot_type == REBOOT_SOFT
        if soft and guest.get_power_state() == power_state.RUNNING:
            if timeout > 0 and self._shutdown_cleanly(guest, instance,
                                                      timeout):
                self.power_on(context, instance)
                LOG.info('Instance %s rebooted (soft)', instance.uuid)
                return
            LOG.info('Soft reboot of instance %s did not complete; '
                     'rebooting it hard', instance.uuid)
        if self._still_active(guest):
            self._stop_at_once(guest, instance)
        self.power_on(context, instance)
        LOG.info('Instance %s rebooted (hard)', instance.uuid)

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

"""Cold migration in the libvirt driver: the guest stops, its data moves.

The compute manager (``nova/compute/cold_migration.py``) drives these
steps; the guest is powered off while its vpmem namespaces are copied, so
the copy is a plain bulk transfer (``vpmem_copy.py``) checked namespace by
namespace with a SHA-256 digest:

* destination: ``match_vpmems`` (at the claim), ``receive_vpmems`` (opens
  a one-connection receiver on the claimed namespaces),
  ``finish_migration`` (the guest starts here), ``remove_migrated_guest``
  (a revert or a rollback: the guest goes; the resource tracker then
  erases the namespaces);
* source: ``power_off_for_migration``, ``send_vpmems``,
  ``restart_migrated_guest`` (a revert or a rollback: the guest starts
  again on its untouched namespaces), ``confirm_migration`` (the guest's
  definition goes; the resource tracker erases its namespaces).

The source keeps its stopped guest's definition and namespaces until the
user confirms, so a revert is a restart with the data as it was.
"""

import threading
import time

from oslo_log import log as logging

from nova import exception
from nova.virt.libvirt import vpmem_copy

LOG = logging.getLogger(__name__)

# How often the guest's state is polled during a clean shutdown.
_SHUTDOWN_POLL_SECONDS = 0.5


def migration_data_ports(compute_conf):
    """``(first, last)`` of [compute]migration_data_port_min/max.

    ``(0, 0)`` means any ephemeral port. Raises InvalidConfiguration for a
    range that is half set or reversed.
    """
    first = compute_conf.migration_data_port_min
    last = compute_conf.migration_data_port_max
    if (first == 0) != (last == 0) or first > last:
        raise exception.InvalidConfiguration(
            reason='[compute]migration_data_port_min = %d and '
                   'migration_data_port_max = %d: set both (min <= max), '
                   'or both to 0 for any free port' % (first, last))
    return first, last


def _targets(devices):
    return [(device.devpath, device.size) for device in devices]


class ColdMigrationMixin:
    """Cold migration methods of LibvirtDriver (see the module docstring)."""

    def __init__(self):
        super().__init__()
        # instance uuid -> vpmem_copy.Receiver waiting for the source.
        self._receivers = {}
        self._receivers_lock = threading.Lock()

    # -- source --------------------------------------------------------------

    def power_off_for_migration(self, instance, timeout):
        """Stop the guest, cleanly if it obeys within ``timeout`` seconds.

        The definition stays: a revert starts the same guest again.
        """
        guest = self._host.get_guest(instance)
        if not guest.is_active():
            return
        libvirt = self._host.libvirt
        if timeout > 0:
            try:
                guest.shutdown()
            except libvirt.libvirtError as exc:
                LOG.warning('Instance %s did not take the shutdown request '
                            '(%s); stopping it', instance.uuid, exc)
            deadline = time.monotonic() + timeout
            while guest.is_active() and time.monotonic() < deadline:
                time.sleep(_SHUTDOWN_POLL_SECONDS)
        if guest.is_active():
            LOG.info('Instance %s still ran after %d s; stopping it',
                     instance.uuid, timeout)
            guest.poweroff()
        LOG.info('Instance %s is stopped for its migration', instance.uuid)

    def send_vpmems(self, instance, source_resources, endpoint,
                    progress=None):
        """Copy the guest's namespaces to the receiver at ``endpoint``.

        Returns the bytes copied once the destination confirmed each
        namespace's digest; raises VPMEMCopyFailed otherwise.
        """
        devices = self._ordered_devices(instance, source_resources,
                                        'send its persistent memory')
        if not devices:
            return 0
        return vpmem_copy.send(
            instance.uuid, endpoint, _targets(devices), progress=progress,
            timeout=self._conf.compute.migration_data_timeout)

    def restart_migrated_guest(self, instance):
        """Start the stopped guest again on this host (revert, rollback)."""
        guest = self._host.get_guest(instance)
        if not guest.is_active():
            guest.launch()
        LOG.info('Instance %s runs again on %s', instance.uuid,
                 self._conf.host)

    def confirm_migration(self, context, instance):
        """The move is final: remove the stopped guest here.

        The namespaces it had are erased by the resource tracker.
        """
        self._remove_guest(instance)

    # -- destination ---------------------------------------------------------

    def receive_vpmems(self, instance, dest_resources):
        """Open a receiver on this host's claim; return its endpoint."""
        devices = self._ordered_devices(instance, dest_resources,
                                        'receive persistent memory')
        if not devices:
            return None
        receiver = vpmem_copy.Receiver(
            instance.uuid, _targets(devices),
            self._conf.compute.migration_data_address,
            timeout=self._conf.compute.migration_data_timeout,
            ports=migration_data_ports(self._conf.compute))
        with self._receivers_lock:
            previous = self._receivers.pop(instance.uuid, None)
            self._receivers[instance.uuid] = receiver
        if previous is not None:
            previous.close()
        return receiver.start()

    def finish_receiving_vpmems(self, instance):
        """Wait for the copy into this host; raise VPMEMCopyFailed."""
        with self._receivers_lock:
            receiver = self._receivers.pop(instance.uuid, None)
        if receiver is None:
            return 0
        try:
            return receiver.wait(
                timeout=self._conf.compute.migration_data_timeout)
        finally:
            receiver.close()

    def finish_migration(self, context, instance, image_meta=None):
        """Start the guest here on the namespaces it now holds."""
        self.finish_receiving_vpmems(instance)
        self.spawn(context, instance, image_meta=image_meta)

    def remove_migrated_guest(self, context, instance):
        """Drop what a migration brought here (revert, rollback).

        Stops receiving and removes the guest if it was started; the
        resource tracker then erases the namespaces of this host's claim.
        """
        with self._receivers_lock:
            receiver = self._receivers.pop(instance.uuid, None)
        if receiver is not None:
            receiver.close()
        self._remove_guest(instance)

    # -- both ----------------------------------------------------------------

    def _ordered_devices(self, instance, resources, action):
        """This host's devices for ``resources``, in the guest's order."""
        def fail(reason):
            return exception.VPMEMCopyFailed(instance_uuid=instance.uuid,
                                             reason=reason)
        return self.ordered_local_devices(
            instance, resources,
            'cannot %s on %s' % (action, self._conf.host), fail)

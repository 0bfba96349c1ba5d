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

"""A thin wrapper over one libvirt domain.

:class:`Guest` names the few domain operations the driver uses and turns
libvirt's domain states into nova's power states. It adds no policy:
errors are the libvirt module's ``libvirtError``, for the caller to judge
(a missing domain during a delete is fine, during a boot it is not).
"""

from nova.compute import power_state
from nova.virt.libvirt import domain_xml


def _power_state_map(libvirt):
    """libvirt domain state -> nova power state."""
    return {
        libvirt.VIR_DOMAIN_NOSTATE: power_state.NOSTATE,
        libvirt.VIR_DOMAIN_RUNNING: power_state.RUNNING,
        # Blocked on a resource (I/O) is still a running guest.
        libvirt.VIR_DOMAIN_BLOCKED: power_state.RUNNING,
        libvirt.VIR_DOMAIN_PAUSED: power_state.PAUSED,
        # Going down at the guest's own request: treated as down already,
        # so a state sync does not flap between running and shutdown.
        libvirt.VIR_DOMAIN_SHUTDOWN: power_state.SHUTDOWN,
        libvirt.VIR_DOMAIN_SHUTOFF: power_state.SHUTDOWN,
        libvirt.VIR_DOMAIN_CRASHED: power_state.CRASHED,
        libvirt.VIR_DOMAIN_PMSUSPENDED: power_state.SUSPENDED,
    }


def _default_module(domain):
    # Guests built by Host always get its module; this serves callers
    # (tests, tools) that wrap a domain by hand.
    from nova.virt.libvirt import emulator
    if isinstance(domain, emulator.virDomain):
        return emulator
    import libvirt
    return libvirt


class Guest:
    """One domain of one host."""

    def __init__(self, domain, libvirt_module=None):
        self._domain = domain
        self.libvirt = libvirt_module or _default_module(domain)

    def __repr__(self):
        return '<Guest %s>' % self.uuid

    @property
    def domain(self):
        """The libvirt domain handle, for calls this class does not wrap."""
        return self._domain

    @property
    def uuid(self):
        return self._domain.UUIDString()

    @property
    def name(self):
        return self._domain.name()

    # -- state ---------------------------------------------------------------

    def is_active(self):
        return bool(self._domain.isActive())

    def is_persistent(self):
        return bool(self._domain.isPersistent())

    def get_power_state(self):
        """The nova power state of the domain."""
        state = self._domain.state()[0]
        return _power_state_map(self.libvirt).get(state,
                                                  power_state.NOSTATE)

    def get_xml_desc(self, migratable=False, inactive=False):
        """The domain XML.

        ``migratable`` gives the definition as a destination must receive
        it (the running XML shows device sizes the guest sees, which a
        destination would refuse); ``inactive`` the persistent definition
        rather than the running one.
        """
        flags = 0
        if migratable:
            flags |= self.libvirt.VIR_DOMAIN_XML_MIGRATABLE
        if inactive:
            flags |= self.libvirt.VIR_DOMAIN_XML_INACTIVE
        return self._domain.XMLDesc(flags)

    def get_nvdimm_paths(self):
        """Backing paths of the guest's nvdimm devices, in device order."""
        return domain_xml.nvdimm_paths(self.get_xml_desc())

    # -- lifecycle -----------------------------------------------------------

    def launch(self, pause=False):
        """Start the defined domain, paused if asked."""
        flags = self.libvirt.VIR_DOMAIN_START_PAUSED if pause else 0
        self._domain.createWithFlags(flags)

    def shutdown(self):
        """Ask the guest OS to power off (ACPI); returns at once."""
        self._domain.shutdown()

    def poweroff(self):
        """Stop the domain at once (libvirt's destroy: pulling the plug)."""
        self._domain.destroy()

    destroy = poweroff

    def undefine(self):
        """Forget the persistent definition (with its managed save and
        NVRAM, which would otherwise keep the undefine from succeeding)."""
        self._domain.undefineFlags(
            self.libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
            self.libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)

    def pause(self):
        self._domain.suspend()

    def resume(self):
        self._domain.resume()

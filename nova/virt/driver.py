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

"""The interface between nova-compute and a hypervisor.

The compute manager and the resource tracker only ever talk to a
:class:`ComputeDriver`; the libvirt driver (``nova.virt.libvirt``) is the
one this project ships. A method a driver does not offer raises
NotImplementedError, so a missing piece fails loudly where it is called.

Three rules every driver keeps:

* everything per host (URI, options, namespaces) is read when the driver
  is built or initialised, never later: several compute services may run
  in one process, each with its own options;
* vpmem namespaces are named by ``objects.Resource`` records whose
  ``provider_uuid`` says which host they belong to, and a driver only ever
  acts on its own;
* an erase is reported exactly: what was erased may be released, what was
  not must stay reserved.
"""

import dataclasses
import importlib

from nova import exception

# load_compute_driver resolves names relative to this package.
_DRIVER_PACKAGE = 'nova.virt'


@dataclasses.dataclass(frozen=True)
class InstanceInfo:
    """What the hypervisor says about one guest."""

    # A nova.compute.power_state value.
    state: int
    # The hypervisor's own id of the guest, when it has one.
    internal_id: str | None = None


class ComputeDriver:
    """Base class of the hypervisor drivers; see the module docstring."""

    # -- service lifecycle ------------------------------------------------

    def init_host(self, host):
        """Connect to the hypervisor and find this host's resources.

        Called once when nova-compute starts, before it takes requests.
        Anything wrong with the host's configuration (for example a
        ``[libvirt]pmem_namespaces`` entry naming a namespace the host
        lacks) raises here, so the service refuses to start and says why.
        """
        raise NotImplementedError()

    def cleanup_host(self, host):
        """Release what init_host acquired (nova-compute is stopping)."""
        raise NotImplementedError()

    # -- discovery, for the resource tracker --------------------------------

    def get_available_nodes(self):
        """The node names this driver manages (hypervisor host names)."""
        raise NotImplementedError()

    def get_available_resource(self, nodename):
        """What ``nodename`` offers, as stored in its compute node record.

        A dict with ``vcpus``, ``memory_mb``, ``local_gb``,
        ``hypervisor_type``, ``hypervisor_version`` (int),
        ``hypervisor_hostname`` and ``cpu_info`` (a JSON string).
        """
        raise NotImplementedError()

    def get_inventory(self, nodename):
        """Placement inventory of ``nodename``.

        ``{resource class: {'total', 'reserved', 'min_unit', 'max_unit',
        'step_size', 'allocation_ratio'}}``; classes with nothing to offer
        are left out.
        """
        raise NotImplementedError()

    def get_vpmem_resources(self, nodename, rp_uuid):
        """``objects.ResourceList``: one Resource per vpmem namespace.

        ``rp_uuid`` is the node's resource provider; the driver remembers
        it as its own, and from then on acts only on resources of its own
        providers.
        """
        raise NotImplementedError()

    # -- guests -------------------------------------------------------------

    def spawn(self, context, instance, image_meta=None):
        """Create and start the guest of ``instance`` on this host.

        The guest gets the vpmem namespaces in ``instance.resources``, in
        the order of its flavor's ``hw:pmem`` labels. On failure nothing
        is left defined.
        """
        raise NotImplementedError()

    def destroy(self, context, instance):
        """Stop and forget the guest of ``instance``; idempotent.

        Its vpmem namespaces are left as they are: the resource tracker
        erases them (erase_vpmems) once the guest is gone.
        """
        raise NotImplementedError()

    def erase_vpmems(self, context, resources):
        """Erase this host's vpmem namespaces named by ``resources``.

        Returns the erased Resources. Refuses (and erases nothing) when any
        resource is not this host's. Raises VPMEMEraseIncomplete when some
        erases failed: its ``erased`` may be released, its ``failed`` must
        stay reserved.
        """
        raise NotImplementedError()

    def get_info(self, instance):
        """InstanceInfo of ``instance``'s guest (NOSTATE if it has none).
        """
        raise NotImplementedError()

    def instance_exists(self, instance):
        """Whether the hypervisor knows a guest for ``instance``."""
        raise NotImplementedError()

    def list_instance_uuids(self):
        """The uuids of every guest on this host."""
        raise NotImplementedError()


    # Live migration. The compute manager calls these on the host named in
    # each method; see nova/compute/live_migration.py for the order.

    def check_can_live_migrate_destination(self, context, instance,
                                           block_migration):
        """On the destination: describe how to reach this host."""
        raise NotImplementedError()

    def pre_live_migration(self, context, instance, dest_resources,
                           migrate_data):
        """On the destination: get ready for the incoming guest."""
        raise NotImplementedError()

    def live_migration(self, context, instance, dest, migration,
                       migrate_data, dest_resources):
        """On the source: move the guest, blocking until the job ends."""
        raise NotImplementedError()

    def live_migration_abort(self, instance):
        raise NotImplementedError()

    def live_migration_force_complete(self, instance):
        raise NotImplementedError()

    def post_live_migration_at_source(self, context, instance):
        """On the source: remove what the guest left (not its namespaces,
        which the resource tracker erases)."""
        raise NotImplementedError()

    def post_live_migration_at_destination(self, context, instance):
        raise NotImplementedError()

    def rollback_live_migration_at_destination(self, context, instance):
        """On the destination: remove the guest (the resource tracker
        erases the namespaces it was given)."""
        raise NotImplementedError()

def load_compute_driver(name='libvirt.LibvirtDriver', *args, **kwargs):
    """Build the driver ``name``, a class path relative to ``nova.virt``.

    ``'libvirt.LibvirtDriver'`` is ``nova.virt.libvirt.LibvirtDriver``
    (the package, or its ``driver`` module); extra arguments go to the
    driver's constructor. Raises InvalidConfiguration for a name that is
    not a ComputeDriver.
    """
    module_path, dot, class_name = name.rpartition('.')
    if not dot or not module_path or not class_name:
        raise exception.InvalidConfiguration(
            reason='compute driver %r is not of the form module.Class '
                   '(e.g. libvirt.LibvirtDriver)' % name)
    driver_class = None
    tried = []
    # The short form names the package; the class lives in its driver
    # module, which the package does not import (that keeps it cheap).
    for candidate in ('%s.%s' % (_DRIVER_PACKAGE, module_path),
                      '%s.%s.driver' % (_DRIVER_PACKAGE, module_path)):
        try:
            module = importlib.import_module(candidate)
        except ImportError as exc:
            missing = exc.name or ''
            if candidate != missing and not candidate.startswith(
                    missing + '.'):
                raise  # the module exists but one of its imports is broken
            tried.append(candidate)
            continue
        driver_class = getattr(module, class_name, None)
        if driver_class is not None:
            break
        tried.append(candidate)
    if not (isinstance(driver_class, type) and
            issubclass(driver_class, ComputeDriver)):
        raise exception.InvalidConfiguration(
            reason='compute driver %r was not found as a ComputeDriver in '
                   '%s' % (name, ' or '.join(tried) or _DRIVER_PACKAGE))
    return driver_class(*args, **kwargs)

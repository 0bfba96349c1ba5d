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

"""The libvirt compute driver: guests with vpmem namespaces.

The driver is the glue; each concern has its own module:

* ``host.py``: the libvirt connection (real or emulated);
* ``guest.py``: one domain;
* ``domain_xml.py``: the domain XML, from pure functions;
* ``vpmem.py``: this host's namespaces, their inventory and erase, and
  an instance's namespaces in its guest's order;
* ``live_migration.py``: the live migration API this class inherits;
  ``migration.py``: its destination XML, flags, budgets and monitor;
* ``power.py``: stop, start, pause, unpause and reboot, inherited;
* ``cold_migration.py``: the cold migration API this class inherits;
  ``vpmem_copy.py``: the verified copy of namespaces it uses.

Safety rule for namespaces: a Resource is acted on only if its provider
is one this driver reported (get_vpmem_resources) and its name and path
resolve to this host's namespace. A record of another host's namespace,
even one with the same name and path (identical hosts), is refused: that
is how an erase never reaches a namespace of another host.
"""

import copy
import os
import threading
import types

import os_resource_classes as orc
from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova.compute import power_state
import nova.conf
from nova import exception
from nova import objects
from nova.virt import driver
from nova.virt import hardware
from nova.virt.libvirt import cold_migration
from nova.virt.libvirt import domain_xml
from nova.virt.libvirt import host as libvirt_host
from nova.virt.libvirt import live_migration
from nova.virt.libvirt import power
from nova.virt.libvirt import vpmem

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

GiB = 1024 ** 3


def instance_name(instance):
    """The libvirt domain name of an instance."""
    return 'instance-%s' % instance.uuid


def _image_property(image_meta, key):
    if image_meta is None:
        return None
    if isinstance(image_meta, dict):
        return image_meta.get(key)
    return getattr(image_meta, key, None)


def _format_version(version):
    return '%d.%d.%d' % (version // 1000000, version // 1000 % 1000,
                         version % 1000)


class ConfSnapshot:
    """The options of one compute service, copied when its driver is built.

    Several compute services can share a process, each setting its
    options just before it starts; a driver that read nova.conf.CONF later
    would see another service's values. ``conf.libvirt.<opt>``,
    ``conf.compute.<opt>``, ``conf.host`` and ``conf.state_path`` read as
    on a ConfigOpts, so HostNamespaces.from_conf accepts a snapshot.
    """

    GROUPS = ('libvirt', 'compute')
    DEFAULT_OPTS = ('host', 'state_path')

    def __init__(self, conf):
        for group in self.GROUPS:
            opts = getattr(conf, group)
            setattr(self, group, types.SimpleNamespace(**{
                name: copy.deepcopy(getattr(opts, name)) for name in opts}))
        for name in self.DEFAULT_OPTS:
            setattr(self, name, getattr(conf, name))


class LibvirtDriver(cold_migration.ColdMigrationMixin,
                    live_migration.LiveMigrationMixin, power.PowerMixin,
                    driver.ComputeDriver):
    """A ComputeDriver for one libvirt host (real or emulated)."""

    def __init__(self, conf=None):
        super().__init__()  # the mixins' registries of migrations
        self._conf = ConfSnapshot(conf if conf is not None else CONF)
        self._virt_type = self._conf.libvirt.virt_type
        # Connects (and imports libvirt-python for a real host) at
        # init_host, so a missing package stops the service at start.
        self._host = libvirt_host.Host(
            self._conf.libvirt.connection_uri,
            hostname=self._conf.libvirt.hypervisor_hostname)
        self._namespaces = None
        # Resource providers (compute node uuids) this driver reported
        # namespaces for: the only providers whose resources it acts on.
        self._provider_uuids = set()
        self._lock = threading.Lock()

    @property
    def host(self):
        """The libvirt Host (connection) of this driver."""
        return self._host

    @property
    def conf(self):
        """The options captured when the driver was built."""
        return self._conf

    @property
    def namespaces(self):
        """This host's HostNamespaces (after init_host)."""
        return self._require_namespaces('use persistent memory')

    def _require_namespaces(self, action):
        namespaces = self._namespaces
        if namespaces is None:
            raise exception.VirtDriverNotInitialized(driver='libvirt',
                                                     action=action)
        return namespaces

    # -- service lifecycle ------------------------------------------------

    def init_host(self, host):
        self._host.get_connection()
        # Bad [libvirt]pmem_namespaces raise here, naming the entry, and
        # nova-compute refuses to start.
        self._namespaces = vpmem.HostNamespaces.from_conf(self._conf)
        cold_migration.migration_data_ports(self._conf.compute)
        by_label = self._namespaces.by_label
        LOG.info(
            'libvirt driver of compute host %(host)s ready: hypervisor '
            '%(node)s (%(type)s %(version)s, libvirt %(lib)s) at %(uri)s; '
            'persistent memory (%(kind)s): %(namespaces)s',
            {'host': host, 'node': self._host.get_hostname(),
             'type': self._host.get_type(),
             'version': _format_version(self._host.get_version()),
             'lib': _format_version(self._host.get_lib_version()),
             'uri': libvirt_host.describe(self._host),
             'kind': self._namespaces.kind,
             'namespaces': '; '.join(
                 '%s: %s' % (label, ', '.join(d.name for d in devices))
                 for label, devices in by_label.items()) or 'none'})

    def cleanup_host(self, host):
        self._host.close()

    # -- discovery, for the resource tracker --------------------------------

    def get_available_nodes(self):
        return [self._host.get_hostname()]

    def _check_node(self, nodename):
        if nodename != self._host.get_hostname():
            raise exception.ComputeHostNodeNotFound(node=nodename,
                                                    host=self._conf.host)

    def get_available_resource(self, nodename):
        self._check_node(nodename)
        return {
            'vcpus': self._host.get_cpu_count(),
            'memory_mb': self._host.get_memory_mb_total(),
            'local_gb': self._local_gb(),
            'hypervisor_type': self._host.get_type(),
            'hypervisor_version': int(self._host.get_version()),
            'hypervisor_hostname': nodename,
            'cpu_info': jsonutils.dumps(self._cpu_info()),
        }

    def _local_gb(self):
        """Size of the filesystem holding state_path, in whole GiB."""
        path = os.path.abspath(self._conf.state_path)
        # A fresh host may not have created state_path yet; its parent
        # lives on the filesystem it will be created on.
        while not os.path.exists(path) and os.path.dirname(path) != path:
            path = os.path.dirname(path)
        stats = os.statvfs(path)
        return stats.f_blocks * stats.f_frsize // GiB

    def _cpu_info(self):
        cpu = self._host.get_capabilities().find('./host/cpu')
        if cpu is None:
            return {}
        topology = cpu.find('topology')
        info = {
            'arch': cpu.findtext('arch'),
            'model': cpu.findtext('model'),
            'vendor': cpu.findtext('vendor'),
            'features': sorted(f.get('name') for f in cpu.findall('feature')),
        }
        if topology is not None:
            info['topology'] = {key: int(topology.get(key, 1))
                                for key in ('sockets', 'cores', 'threads')}
        return info

    def get_host_uptime(self):
        """What ``uptime`` prints on this host (the API shows it as is)."""
        out, _err = processutils.execute('env', 'LANG=C', 'uptime')
        return out

    def get_inventory(self, nodename):
        self._check_node(nodename)
        namespaces = self._require_namespaces('report inventory')
        vcpus = self._host.get_cpu_count()
        memory_mb = self._host.get_memory_mb_total()
        compute = self._conf.compute
        inventory = {
            orc.VCPU: _inventory_entry(
                vcpus, allocation_ratio=compute.cpu_allocation_ratio),
            orc.MEMORY_MB: _inventory_entry(
                memory_mb,
                # Placement refuses reserved above total (a small test
                # host with the default reservation).
                reserved=min(compute.reserved_host_memory_mb, memory_mb),
                allocation_ratio=compute.ram_allocation_ratio),
        }
        local_gb = self._local_gb()
        if local_gb > 0:
            inventory[orc.DISK_GB] = _inventory_entry(local_gb)
        for resource_class, entry in namespaces.inventory().items():
            # Placement refuses an inventory of zero; a class with nothing
            # to offer is left out instead.
            if entry['total'] > 0:
                inventory[resource_class] = dict(entry)
        return inventory

    def get_vpmem_resources(self, nodename, rp_uuid):
        self._check_node(nodename)
        namespaces = self._require_namespaces('report namespaces')
        with self._lock:
            if rp_uuid not in self._provider_uuids:
                LOG.info('Resource provider %s is node %s of this host; its '
                         'namespaces may be used and erased here.', rp_uuid,
                         nodename)
            self._provider_uuids.add(rp_uuid)
        resources = [
            objects.Resource(provider_uuid=rp_uuid,
                             resource_class=resource_class,
                             identifier=device.name,
                             metadata=vpmem.copy_device(device))
            for resource_class, devices in
            namespaces.by_resource_class.items()
            for device in devices]
        return objects.ResourceList(objects=resources)

    # -- this host's namespaces ---------------------------------------------

    def _instance_resources(self, instance):
        # An unset field lazy-loads from the database.
        return list(instance.resources or ())

    def _nvdimm_paths_in_use(self):
        """Backing paths of running guests' nvdimms: real path -> domain."""
        libvirt = self._host.libvirt
        used = {}
        for guest in self._host.list_guests(only_running=True):
            try:
                name = guest.name
                paths = guest.get_nvdimm_paths()
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    continue  # it went away while we looked
                raise
            for path in paths:
                used[os.path.realpath(path)] = name
        return used

    def check_local_vpmems(self, resources):
        """Pair vpmem resources with this host's namespaces.

        Returns ``(pairs, refused)``: ``[(resource, local device)]`` for
        those that are this host's and free of running guests, and
        ``[(resource, reason)]`` for the others.
        """
        namespaces = self._require_namespaces('use persistent memory')
        with self._lock:
            providers = set(self._provider_uuids)
        in_use = self._nvdimm_paths_in_use()
        pairs = []
        refused = []
        for resource in resources:
            device, reason = self._resolve_local(namespaces, providers,
                                                 in_use, resource)
            if reason is None:
                pairs.append((resource, device))
            else:
                refused.append((resource, reason))
        return pairs, refused

    @staticmethod
    def _resolve_local(namespaces, providers, in_use, resource):
        """``(this host's device, None)`` or ``(None, why not)``."""
        if not providers:
            return None, ('this host has not reported its resource provider '
                          'yet (get_vpmem_resources), so provider %s cannot '
                          'be told to be its own' % resource.provider_uuid)
        if resource.provider_uuid not in providers:
            return None, ('it belongs to resource provider %s, not to this '
                          'host (%s)' % (resource.provider_uuid,
                                         ', '.join(sorted(providers))))
        record = resource.metadata
        if resource.identifier != record.name:
            return None, ('its identifier %s differs from the name %s in '
                          'its device record' % (resource.identifier,
                                                 record.name))
        try:
            device = namespaces.lookup(record)
        except exception.PMEMNamespaceNotOnHost as exc:
            return None, exc.format_message()
        offered_as = namespaces.resource_class(device.label)
        if offered_as != resource.resource_class:
            return None, ('it is recorded as %s, this host offers it as %s'
                          % (resource.resource_class, offered_as))
        owner = in_use.get(os.path.realpath(device.devpath))
        if owner is not None:
            return None, ('its device %s backs running domain %s'
                          % (device.devpath, owner))
        return device, None

    def match_vpmems(self, instance, dest_resources):
        """This host's devices for ``dest_resources``, in the guest's order.

        ``dest_resources`` (this host's claim for an incoming instance)
        are resolved through this host's namespaces only, ordered by the
        flavor's hw:pmem labels and compared, device by device, with the
        guest's own (the instance's resources): the size and alignment
        must be equal, since the guest's data is carried over as it is.
        Raises DestinationVPMEMMismatch.
        """
        def fail(reason):
            return exception.DestinationVPMEMMismatch(reason=reason)
        local = self.ordered_local_devices(
            instance, dest_resources,
            'namespaces unusable on %s' % self._conf.host, fail)
        try:
            guest_side = vpmem.order_vpmems(
                vpmem.vpmem_resources(self._instance_resources(instance)),
                hardware.get_vpmem_labels(instance.flavor))
        except (exception.VPMEMResourcesMismatch,
                exception.InvalidPMEMExtraSpec) as exc:
            raise fail(exc.format_message()) from exc
        for index, (theirs, ours) in enumerate(zip(guest_side, local,
                                                    strict=True)):
            source = theirs.metadata
            if (source.size, source.align) != (ours.size, ours.align):
                raise exception.DestinationVPMEMMismatch(
                    reason='device %d: the guest has %s (%d bytes, align '
                           '%d), destination namespace %s is %d bytes, '
                           'align %d' % (index, source.name, source.size,
                                         source.align, ours.name, ours.size,
                                         ours.align))
        return local

    # -- guests -------------------------------------------------------------

    def spawn(self, context, instance, image_meta=None):
        name = instance_name(instance)
        if self.instance_exists(instance):
            raise exception.InstanceExists(name=name)
        devices = self._vpmem_devices_for_spawn(instance)
        flavor = instance.flavor
        spec = domain_xml.GuestSpec(
            name=name, uuid=instance.uuid, memory_mb=flavor.memory_mb,
            vcpus=flavor.vcpus, virt_type=self._virt_type,
            nvdimms=domain_xml.nvdimm_specs(
                devices, devdax=self.namespaces.kind == 'devdax'),
            kernel=_image_property(image_meta, 'kernel'),
            cmdline=_image_property(image_meta, 'cmdline'))
        libvirt = self._host.libvirt
        try:
            guest = self._host.write_instance_config(
                domain_xml.guest_xml(spec))
        except libvirt.libvirtError as exc:
            raise exception.InstanceSpawnFailed(
                instance_uuid=instance.uuid,
                reason='libvirt refused its definition: %s' % exc) from exc
        try:
            guest.launch()
        except libvirt.libvirtError as exc:
            LOG.error('Instance %s failed to start, removing its '
                      'definition: %s', instance.uuid, exc)
            self._undefine_quietly(guest, instance)
            raise exception.InstanceSpawnFailed(instance_uuid=instance.uuid,
                                                reason=str(exc)) from exc
        LOG.info('Instance %s started as %s with persistent memory %s',
                 instance.uuid, name,
                 ', '.join('%s=%s' % (d.name, d.devpath) for d in devices)
                 or 'none')

    def _vpmem_devices_for_spawn(self, instance):
        """This host's devices for the instance, in its guest's order."""
        def fail(reason):
            return exception.InstanceSpawnFailed(instance_uuid=instance.uuid,
                                                 reason=reason)
        return self.ordered_local_devices(
            instance, self._instance_resources(instance),
            'its persistent memory is not usable here', fail)

    def ordered_local_devices(self, instance, resources, refusal, fail):
        """This host's devices for ``resources``, in the guest's order.

        The order is the flavor's hw:pmem labels'. ``fail(reason)`` makes
        the exception raised when the resources do not match the flavor,
        or (after ``refusal``) when some are not this host's usable ones.
        """
        try:
            ordered = vpmem.order_vpmems(
                vpmem.vpmem_resources(resources),
                hardware.get_vpmem_labels(instance.flavor))
        except (exception.VPMEMResourcesMismatch,
                exception.InvalidPMEMExtraSpec) as exc:
            raise fail(exc.format_message()) from exc
        if not ordered:
            return []
        pairs, refused = self.check_local_vpmems(ordered)
        if refused:
            raise fail('%s: %s' % (refusal, '; '.join(
                '%s: %s' % (r.identifier, why) for r, why in refused)))
        return [device for _resource, device in pairs]

    def _undefine_quietly(self, guest, instance):
        libvirt = self._host.libvirt
        try:
            guest.undefine()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                LOG.error('Could not remove the definition of instance %s '
                          '(%s): %s. Remove it by hand (virsh undefine).',
                          instance.uuid, instance_name(instance), exc)

    def destroy(self, context, instance):
        self._remove_guest(instance)

    def _remove_guest(self, instance):
        """Stop and undefine the instance's domain; a missing one is fine."""
        libvirt = self._host.libvirt
        try:
            guest = self._host.get_guest(instance)
        except exception.InstanceNotFound:
            LOG.debug('Instance %s has no domain here; nothing to remove.',
                      instance.uuid)
            return
        try:
            if guest.is_active():
                guest.poweroff()
        except libvirt.libvirtError as exc:
            code = exc.get_error_code()
            if code == libvirt.VIR_ERR_NO_DOMAIN:
                return  # gone meanwhile: a transient guest that stopped
            # "not running": it stopped between our check and the call.
            if (code != libvirt.VIR_ERR_OPERATION_INVALID or
                    self._still_active(guest)):
                raise exception.InstanceDestroyFailed(
                    instance_uuid=instance.uuid, reason=exc) from exc
        try:
            guest.undefine()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceDestroyFailed(
                    instance_uuid=instance.uuid, reason=exc) from exc
        LOG.info('Removed the domain of instance %s', instance.uuid)

    def _still_active(self, guest):
        libvirt = self._host.libvirt
        try:
            return guest.is_active()
        except libvirt.libvirtError:
            return False

    def erase_vpmems(self, context, resources):
        """Erase this host's namespaces among ``resources``.

        Only vpmem resources count; others are ignored. All of them are
        checked before anything is erased: one that is not this host's
        (see the module docstring) or backs a running guest makes the
        whole request fail with VPMEMEraseRefused. When some erases fail,
        VPMEMEraseIncomplete is raised with ``erased`` (Resources that may
        be released) and ``failed`` (``(Resource, exception)`` pairs that
        must stay reserved).
        """
        wanted = list(dict.fromkeys(vpmem.vpmem_resources(resources)))
        if not wanted:
            return []
        namespaces = self._require_namespaces('erase namespaces')
        pairs, refused = self.check_local_vpmems(wanted)
        if refused:
            exc = exception.VPMEMEraseRefused(host=self._conf.host,
                                              refused=refused)
            LOG.error('%s', exc)
            raise exc
        resource_of = {device.name: resource for resource, device in pairs}
        try:
            namespaces.erase([device for _resource, device in pairs])
        except exception.VPMEMEraseIncomplete as exc:
            # Callers release by Resource: hand them Resources, not this
            # host's device records. The message stays right, since every
            # identifier equals its device's name (checked above).
            exc.erased = [resource_of[device.name] for device in exc.erased]
            exc.failed = [(resource_of[device.name], error)
                          for device, error in exc.failed]
            LOG.error('Persistent memory erase incomplete. Erased: %s. '
                      'NOT erased, must stay reserved: %s',
                      ', '.join(r.identifier for r in exc.erased) or 'none',
                      '; '.join('%s (%s)' % (r.identifier, error)
                                for r, error in exc.failed))
            raise
        erased = [resource for resource, _device in pairs]
        LOG.info('Erased persistent memory namespaces %s',
                 ', '.join('%s (%s)' % (r.identifier, r.metadata.devpath)
                           for r in erased))
        return erased

    def resume_guest(self, instance):
        """Let a paused guest run again."""
        guest = self._host.get_guest(instance)
        if guest.get_power_state() == power_state.PAUSED:
            guest.resume()
            LOG.info('Resumed instance %s', instance.uuid)

    def get_info(self, instance):
        libvirt = self._host.libvirt
        try:
            state = self._host.get_guest(instance).get_power_state()
        except exception.InstanceNotFound:
            state = power_state.NOSTATE
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
            state = power_state.NOSTATE
        return driver.InstanceInfo(state=state)

    def instance_exists(self, instance):
        try:
            self._host.get_guest(instance)
        except exception.InstanceNotFound:
            return False
        return True

    def list_instance_uuids(self):
        return [guest.uuid for guest in self._host.list_guests()]

    # -- live migration -------------------------------------------------------
    # The API is LiveMigrationMixin's (live_migration.py); its decisions
    # and monitor are in migration.py.


def _inventory_entry(total, reserved=0, allocation_ratio=1.0):
    return {'total': total, 'reserved': reserved, 'min_unit': 1,
            'max_unit': total, 'step_size': 1,
            'allocation_ratio': allocation_ratio}

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

"""The persistent memory namespaces this host offers to guests.

``[libvirt]pmem_namespaces`` groups namespaces under labels
(``128G:ns0|ns1,SMALL:ns2``); each label is a placement resource class
``CUSTOM_PMEM_NAMESPACE_<LABEL>``. :class:`HostNamespaces` reads the
options once, finds the namespaces through a backend
(:mod:`nova.virt.libvirt.vpmem_backends`), refuses to start on anything
that would hand out the wrong memory, and erases namespaces given up by
instances, reading them back before they can be reused.
:func:`vpmem_resources` and :func:`order_vpmems` find an instance's
namespaces among its resources, in the order its guest sees them (for
the driver and its live migration alike).
"""

import collections

from oslo_log import log as logging

from nova import exception
from nova import objects
from nova.virt import hardware
from nova.virt.libvirt import vpmem_backends

LOG = logging.getLogger(__name__)

# How an erase is checked ([compute]pmem_erase_verify).
ERASE_VERIFY_MODES = ('full', 'sample')

# One parsed [libvirt]pmem_namespaces item, its text kept for messages.
ConfigEntry = collections.namedtuple('ConfigEntry', 'text label names')


def erase_verify_mode(compute_opts):
    """[compute]pmem_erase_verify, with the deprecated bool folded in."""
    mode = compute_opts.pmem_erase_verify
    if not compute_opts.pmem_verify_erase and mode == 'full':
        LOG.warning('[compute]pmem_verify_erase = False is deprecated and '
                    'no longer skips the check: erases are verified by '
                    'sample ([compute]pmem_erase_verify = sample).')
        return 'sample'
    return mode


def resource_class_for_label(label):
    """``CUSTOM_PMEM_NAMESPACE_<LABEL>``, the class flavors ask for too."""
    return hardware.pmem_resource_class(label)


def _invalid(entry, reason):
    return exception.PMEMNamespaceConfigInvalid(entry=entry, reason=reason)


def _parse_entry(entry):
    """``(label, [names])`` of one ``LABEL:NS[|NS]`` item, or raise.

    The label follows hardware.PMEM_LABEL_RULE and every name
    hardware.PMEM_NAMESPACE_NAME_RULE; whitespace around them is ignored.
    """
    label, colon, names_text = entry.partition(':')
    if not colon:
        raise _invalid(entry, "expected LABEL:NAMESPACE[|NAMESPACE...], "
                              "there is no ':'")
    label = label.strip()
    if not label:
        raise _invalid(entry, "the label before ':' is empty")
    problem = hardware.pmem_label_problem(label)
    if problem:
        raise _invalid(entry, problem)
    names = [name.strip() for name in names_text.split('|')]
    if names == ['']:
        raise _invalid(entry, "no namespace is listed after ':'")
    if '' in names:
        raise _invalid(entry, "a namespace name is empty (stray '|'?)")
    for name in names:
        problem = hardware.pmem_namespace_name_problem(name)
        if problem:
            raise _invalid(entry, problem + _separator_hint(name))
    return label, names


def _separator_hint(name):
    # The likely slips: a second ':' or ',' where '|' was meant.
    if ':' in name:
        return ("; an entry has one ':', after its label; separate "
                "namespaces with '|'")
    if ',' in name:
        return "; separate namespaces with '|' and entries with ','"
    return ''


def parse_pmem_config(entries):
    """Parse ``[libvirt]pmem_namespaces`` into ConfigEntry tuples, in order.

    Raises PMEMNamespaceConfigInvalid naming the offending entry.
    """
    parsed = []
    entry_of_name = {}
    entry_of_label = {}
    entry_of_class = {}
    for entry in entries:
        if not isinstance(entry, str):
            raise _invalid(entry, 'an entry must be a string '
                                  'LABEL:NAMESPACE[|NAMESPACE...]')
        if not entry.strip():
            raise _invalid(entry, 'the entry is empty (two commas in a row?)')
        label, names = _parse_entry(entry)
        if label in entry_of_label:
            raise _invalid(entry, 'label %s is already given by entry %r; '
                                  "list all its namespaces in one entry, "
                                  "separated by '|'"
                                  % (label, entry_of_label[label]))
        resource_class = resource_class_for_label(label)
        if resource_class in entry_of_class:
            # Labels differing only in case (or in runs of underscores)
            # share one resource class.
            raise _invalid(entry, 'label %s and the label of entry %r both '
                                  'become resource class %s'
                                  % (label, entry_of_class[resource_class],
                                     resource_class))
        for position, name in enumerate(names):
            if name in names[:position]:
                raise _invalid(entry, 'namespace %s is listed twice in this '
                                      'entry' % name)
            if name in entry_of_name:
                raise _invalid(entry, 'namespace %s is also listed in entry '
                                      '%r; a namespace can have only one '
                                      'label' % (name, entry_of_name[name]))
        for name in names:
            entry_of_name[name] = entry
        entry_of_label[label] = entry
        entry_of_class[resource_class] = entry
        parsed.append(ConfigEntry(entry, label, names))
    return parsed


def parse_pmem_namespaces(entries):
    """``{label: [namespace names in configured order]}`` from the option.

    ``entries`` is the ListOpt value (already split on ','). Raises
    PMEMNamespaceConfigInvalid naming the offending entry.
    """
    return {item.label: list(item.names)
            for item in parse_pmem_config(entries)}


def order_vpmems(resources, labels):
    """An instance's vpmem resources in the order of its hw:pmem labels.

    For each label in turn, the next not yet used resource of that label's
    resource class is taken, so the guest sees its devices in the order
    its flavor lists them. Raises VPMEMResourcesMismatch when a label has
    no resource left, or when resources are left over: the guest would
    get the wrong devices.
    """
    resources = list(resources or ())
    labels = list(labels or ())
    unused = list(resources)
    ordered = []
    for label in labels:
        resource_class = hardware.pmem_resource_class(label)
        match = next((r for r in unused
                      if r.resource_class == resource_class), None)
        if match is None:
            wanted = sum(1 for other in labels
                         if hardware.pmem_resource_class(other) ==
                         resource_class)
            held = sum(1 for r in resources
                       if r.resource_class == resource_class)
            raise _mismatch(resources, labels,
                            'label %s asks for %d namespace(s) of %s, the '
                            'instance holds %d' % (label, wanted,
                                                   resource_class, held))
        unused.remove(match)
        ordered.append(match)
    if unused:
        raise _mismatch(resources, labels,
                        'no label asks for %s' % ', '.join(
                            '%s (%s)' % (r.identifier, r.resource_class)
                            for r in unused))
    return ordered


def _mismatch(resources, labels, reason):
    return exception.VPMEMResourcesMismatch(
        names=', '.join(r.identifier for r in resources) or 'none',
        labels=','.join(labels) or 'none', reason=reason)


def vpmem_resources(resources):
    """The resources among ``resources`` that are vpmem namespaces."""
    return [r for r in resources or ()
            if r.obj_attr_is_set('metadata') and
            isinstance(r.metadata, objects.LibvirtVPMEMDevice)]


def copy_device(device):
    # Callers may keep or change what they are given; the driver's own
    # records must stay as discovered.
    return objects.LibvirtVPMEMDevice(label=device.label, name=device.name,
                                      size=device.size,
                                      devpath=device.devpath,
                                      align=device.align)


class HostNamespaces:
    """The namespaces of one compute service, found and checked once.

    Everything is decided at construction: the options are read then and
    never again, because several compute services may run in one process
    with their own options. Devices are LibvirtVPMEMDevice objects with
    their label set.
    """

    def __init__(self, entries, backend, allow_mixed_sizes=False,
                 erase_verify='full'):
        if erase_verify not in ERASE_VERIFY_MODES:
            raise exception.InvalidConfiguration(
                reason='[compute]pmem_erase_verify must be one of %s, not %r'
                       % (', '.join(ERASE_VERIFY_MODES), erase_verify))
        self._backend = backend
        self._erase_verify = erase_verify
        self._config = parse_pmem_config(entries)
        self._by_name = {}
        self._by_label = {}
        if self._config:
            self._load(allow_mixed_sizes)

    @classmethod
    def from_conf(cls, conf):
        """Build from ``[libvirt]`` and ``[compute]pmem_erase_verify``."""
        return cls(list(conf.libvirt.pmem_namespaces),
                   vpmem_backends.backend_from_conf(conf),
                   allow_mixed_sizes=conf.libvirt.pmem_allow_mixed_sizes,
                   erase_verify=erase_verify_mode(conf.compute))

    def _load(self, allow_mixed_sizes):
        wanted = [name for item in self._config for name in item.names]
        try:
            found = self._backend.discover(wanted)
        except exception.PMEMNamespaceUnusable as exc:
            raise _invalid(self._entry_naming(exc.kwargs['name']),
                           exc.format_message())
        for item in self._config:
            missing = [name for name in item.names if name not in found]
            if missing:
                raise _invalid(item.text, self._missing_reason(missing,
                                                               found))
            devices = [found[name] for name in item.names]
            for device in devices:
                device.label = item.label
                self._by_name[device.name] = device
            if not allow_mixed_sizes:
                _check_same_shape(item.text, devices)
            self._by_label[item.label] = devices
        LOG.info('Persistent memory namespaces (%s): %s', self.kind,
                 '; '.join('%s: %s' % (label, ', '.join(
                     '%s=%s' % (d.name, d.devpath) for d in devices))
                     for label, devices in self._by_label.items()))

    def _entry_naming(self, name):
        for item in self._config:
            if name in item.names:
                return item.text
        return name

    def _missing_reason(self, missing, found):
        shown = ', '.join(sorted(found)) or 'no usable namespace'
        return ('namespace %s %s not on this host; %s shows: %s'
                % (', '.join(missing), 'is' if len(missing) == 1 else 'are',
                   self._backend.source, shown))

    @property
    def kind(self):
        """'devdax' (ndctl) or 'file'."""
        return self._backend.kind

    @property
    def labels(self):
        return list(self._by_label)

    @property
    def by_name(self):
        return dict(self._by_name)

    @property
    def by_label(self):
        return {label: list(devices)
                for label, devices in self._by_label.items()}

    @property
    def by_resource_class(self):
        return {resource_class_for_label(label): list(devices)
                for label, devices in self._by_label.items()}

    def resource_class(self, label):
        return resource_class_for_label(label)

    def inventory(self):
        """Placement inventory of the namespaces: {resource class: dict}."""
        return {rc: {'total': len(devices), 'reserved': 0, 'min_unit': 1,
                     'max_unit': len(devices), 'step_size': 1,
                     'allocation_ratio': 1.0}
                for rc, devices in self.by_resource_class.items()}

    def lookup(self, device):
        """This host's record of ``device`` (a LibvirtVPMEMDevice or name).

        Raises PMEMNamespaceNotOnHost when the name is not ours, or when
        the device's path differs from ours: that record belongs to
        another host, and its name matching one of ours is no licence to
        touch ours.
        """
        name = device if isinstance(device, str) else device.name
        local = self._by_name.get(name)
        if local is None:
            raise exception.PMEMNamespaceNotOnHost(
                name=name, reason='not in [libvirt]pmem_namespaces')
        if not isinstance(device, str) and device.devpath != local.devpath:
            raise exception.PMEMNamespaceNotOnHost(
                name=name, reason='its path %s is not this host\'s %s'
                                  % (device.devpath, local.devpath))
        return local

    def erase(self, devices):
        """Erase (and read back, if configured) each device; try them all.

        Returns this host's records of the erased devices, in order. If any
        fails, raises VPMEMEraseIncomplete whose ``erased`` and ``failed``
        say which may be released and which must stay reserved.
        """
        erased = []
        failed = []
        for device in devices:
            try:
                local = self.lookup(device)
                self._backend.erase(local)
                # Never skipped: only a verified erase frees a namespace.
                self._backend.verify(
                    local, sample=self._erase_verify == 'sample')
            except Exception as exc:
                LOG.error('Could not erase persistent memory namespace '
                          '%s: %s', getattr(device, 'name', device), exc)
                failed.append((device, exc))
            else:
                erased.append(local)
        if failed:
            raise exception.VPMEMEraseIncomplete(erased=erased,
                                                 failed=failed)
        return erased


def _check_same_shape(entry, devices):
    """Refuse a label whose namespaces differ in size or alignment."""
    shapes = {(d.size, d.align) for d in devices}
    if len(shapes) > 1:
        raise _invalid(entry, 'its namespaces differ in size or alignment '
                              '(%s); a label must promise one size, or set '
                              '[libvirt]pmem_allow_mixed_sizes = True'
                              % ', '.join('%s=%d bytes/align %d'
                                          % (d.name, d.size, d.align)
                                          for d in devices))

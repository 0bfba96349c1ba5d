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

"""Domain XML parsing and the checks libvirt 9 and QEMU 7.2 make.

Three moments, as on a real host:

* ``parse()`` at define time: the rules of libvirt's parser and validator
  (name, uuid, memory, NUMA, memory hotplug, nvdimm devices);
* ``check_start()`` when the guest starts: what QEMU refuses (no ACPI for
  memory hotplug, a missing or too small backing file);
* ``check_abi()`` when a migration's destination XML is compared with the
  source: what libvirt's ABI-stability check refuses.

``render()`` produces the XML ``XMLDesc()`` returns.
"""

import copy
import dataclasses
import os
import uuid as uuidlib
import xml.etree.ElementTree as ET

from nova.virt.libvirt.emulator import constants as c
from nova.virt.libvirt.emulator import errors

KiB = 1024
# QEMU's default alignment of a file-backed nvdimm is the host page size.
DEFAULT_NVDIMM_ALIGN = c.PAGE_SIZE
# QEMU refuses a smaller label area (nvdimm.c MIN_NAMESPACE_LABEL_SIZE).
MIN_LABEL_KIB = 128
SUPPORTED_VIRT_TYPES = ('qemu', 'kvm')
EMULATOR_BINARY = '/usr/bin/qemu-system-x86_64'

_UNITS = {
    'b': 1, 'bytes': 1,
    'KB': 1000, 'k': KiB, 'KiB': KiB,
    'MB': 1000 ** 2, 'M': KiB ** 2, 'MiB': KiB ** 2,
    'GB': 1000 ** 3, 'G': KiB ** 3, 'GiB': KiB ** 3,
    'TB': 1000 ** 4, 'T': KiB ** 4, 'TiB': KiB ** 4,
    'PB': 1000 ** 5, 'P': KiB ** 5, 'PiB': KiB ** 5,
}


@dataclasses.dataclass
class Nvdimm:
    """One ``<memory model='nvdimm'>`` device, sizes in bytes."""

    index: int
    path: str
    size: int                 # target/size: the backend (file) size
    label_size: int
    align: int | None         # source/alignsize, None if not given
    node: int | None
    pmem: bool
    element: ET.Element = dataclasses.field(repr=False, compare=False)

    @property
    def effective_align(self):
        return self.align or DEFAULT_NVDIMM_ALIGN

    @property
    def visible_size(self):
        """The guest-visible persistent memory QEMU exposes.

        QEMU keeps the label area at the end of the backend and aligns the
        rest down, so a guest (and libvirt's live XML) sees up to one
        alignment less than the backing file holds.
        """
        usable = self.size - self.label_size
        return usable - usable % self.effective_align


@dataclasses.dataclass
class DomainSpec:
    """What the emulator needs from a parsed domain definition."""

    root: ET.Element = dataclasses.field(repr=False)
    name: str
    uuid: str
    virt_type: str
    memory: int               # <memory>: total, bytes
    current_memory: int
    max_memory: int | None    # <maxMemory>, bytes
    memory_slots: int
    vcpus: int
    numa_cells: dict          # cell id -> bytes
    acpi: bool
    nvdimms: list
    dimm_bytes: int           # plain <memory model='dimm'> devices
    dimm_count: int = 0

    @property
    def ram_bytes(self):
        """Guest RAM, i.e. what is not file-backed persistent memory."""
        return self.memory - sum(n.size for n in self.nvdimms)

    def to_xml(self):
        return ET.tostring(self.root, encoding='unicode')


def _xml_error(detail):
    return errors.error(c.VIR_ERR_XML_ERROR, detail, c.VIR_FROM_DOMAIN)


def _unsupported(detail):
    return errors.error(c.VIR_ERR_CONFIG_UNSUPPORTED, detail,
                        c.VIR_FROM_DOMAIN)


def _scaled(elem, where, default_unit='KiB'):
    """Bytes held by an element with libvirt's optional ``unit``."""
    unit = elem.get('unit', default_unit)
    if unit not in _UNITS:
        raise errors.error(c.VIR_ERR_INVALID_ARG,
                           "unknown suffix '%s'" % unit, c.VIR_FROM_DOMAIN)
    text = (elem.text or '').strip()
    try:
        value = int(text)
        if value < 0:
            raise ValueError(text)
    except ValueError:
        raise _xml_error("Invalid value '%s' for element or attribute "
                         "'%s'" % (text, where))
    scaled = value * _UNITS[unit]
    # libvirt keeps KiB internally and rounds any remainder up.
    return -(-scaled // KiB) * KiB


def _int_attr(elem, attr, where):
    raw = elem.get(attr)
    if raw is None:
        return None
    try:
        return int(raw, 0)
    except ValueError:
        raise _xml_error("Invalid value '%s' for element or attribute "
                         "'%s'" % (raw, where))


def parse_document(xml):
    """Parse ``xml`` into an element tree, reporting errors as libvirt."""
    if not isinstance(xml, str) or not xml.strip():
        raise errors.error(c.VIR_ERR_XML_DETAIL,
                           '(domain_definition):1: Document is empty',
                           c.VIR_FROM_XML)
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        raise errors.error(c.VIR_ERR_XML_DETAIL,
                           '(domain_definition):%d: %s' % (line, exc),
                           c.VIR_FROM_XML)
    if root.tag != 'domain':
        raise _xml_error('unexpected root element <%s>, expecting <domain>'
                         % root.tag)
    return root


def _parse_uuid(root):
    text = (root.findtext('uuid') or '').strip()
    if not text:
        # libvirt generates one when the definition has none.
        generated = str(uuidlib.uuid4())
        ET.SubElement(root, 'uuid').text = generated
        return generated
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        raise _xml_error('malformed uuid element')


def _parse_numa(root):
    cells = {}
    for cell in root.findall('./cpu/numa/cell'):
        cell_id = _int_attr(cell, 'id', './cpu/numa/cell/@id')
        if cell_id is None:
            cell_id = len(cells)
        if cell.get('memory') is None:
            raise _xml_error("Missing 'memory' attribute in NUMA cell")
        holder = ET.Element('memory', unit=cell.get('unit', 'KiB'))
        holder.text = cell.get('memory')
        cells[cell_id] = _scaled(holder, './cpu/numa/cell/@memory')
    if sorted(cells) != list(range(len(cells))):
        raise _xml_error('NUMA cells ids must be contiguous from 0')
    return cells


def _parse_nvdimm(elem, index):
    if elem.find('uuid') is not None:
        raise _unsupported('UUID is not supported for NVDIMM device')
    path = (elem.findtext('./source/path') or '').strip()
    if not path:
        raise _xml_error("path is required for model 'nvdimm'")
    size_elem = elem.find('./target/size')
    if size_elem is None:
        raise _xml_error('missing memory device size')
    size = _scaled(size_elem, './devices/memory/target/size')
    label_elem = elem.find('./target/label/size')
    label = 0
    if label_elem is not None:
        label = _scaled(label_elem, './devices/memory/target/label/size')
        if label < MIN_LABEL_KIB * KiB:
            raise _xml_error('nvdimm label must be at least 128KiB')
        if label >= size:
            raise _xml_error('label size must be smaller than NVDIMM size')
    align_elem = elem.find('./source/alignsize')
    align = None
    if align_elem is not None:
        align = _scaled(align_elem, './devices/memory/source/alignsize')
        if align == 0:
            raise _xml_error('alignsize must be greater than 0')
    node_text = elem.findtext('./target/node')
    node = None
    if node_text is not None:
        try:
            node = int(node_text.strip())
        except ValueError:
            raise _xml_error("Invalid value '%s' for element or attribute "
                             "'./target/node'" % node_text)
    return Nvdimm(index=index, path=path, size=size, label_size=label,
                  align=align, node=node,
                  pmem=elem.find('./source/pmem') is not None, element=elem)


def parse(xml):
    """Parse and validate a domain definition as libvirt's define does.

    Returns a DomainSpec whose ``root`` is the (normalised) tree; raises
    libvirtError with libvirt's code and message for what it refuses.
    """
    root = parse_document(xml)
    virt_type = root.get('type')
    if not virt_type:
        raise _xml_error('missing domain type attribute')
    if virt_type not in SUPPORTED_VIRT_TYPES:
        raise _unsupported("Emulator '%s' does not support virt type '%s'"
                           % (EMULATOR_BINARY, virt_type))
    name = (root.findtext('name') or '').strip()
    if not name:
        raise errors.libvirtError('missing name information',
                                  code=c.VIR_ERR_NO_NAME,
                                  domain=c.VIR_FROM_DOMAIN)
    if '/' in name:
        raise _xml_error("name %s cannot contain '/'" % name)
    dom_uuid = _parse_uuid(root)
    numa_cells = _parse_numa(root)

    nvdimms = []
    dimm_bytes = 0
    dimm_count = 0
    for elem in root.findall('./devices/memory'):
        model = elem.get('model')
        if model == 'nvdimm':
            nvdimms.append(_parse_nvdimm(elem, len(nvdimms)))
        elif model == 'dimm':
            size_elem = elem.find('./target/size')
            if size_elem is None:
                raise _xml_error('missing memory device size')
            dimm_bytes += _scaled(size_elem, './devices/memory/target/size')
            dimm_count += 1
        else:
            raise _unsupported("memory device model '%s' is not supported "
                               "by the emulated host" % model)
    devices_bytes = dimm_bytes + sum(n.size for n in nvdimms)
    device_count = dimm_count + len(nvdimms)

    memory_elem = root.find('memory')
    if memory_elem is None:
        if not numa_cells:
            raise _xml_error('Memory size must be specified via <memory> '
                             'or in the <numa> configuration')
        memory = sum(numa_cells.values()) + devices_bytes
    else:
        memory = _scaled(memory_elem, './memory[1]')
    if memory == 0:
        raise _xml_error('Memory size must be specified via <memory> or '
                         'in the <numa> configuration')
    current_elem = root.find('currentMemory')
    current = memory
    if current_elem is not None:
        current = min(_scaled(current_elem, './currentMemory[1]'), memory)
        current = current or memory

    max_memory = None
    slots = 0
    max_elem = root.find('maxMemory')
    if max_elem is not None:
        slots = _int_attr(max_elem, 'slots', './maxMemory/@slots') or 0
        max_memory = _scaled(max_elem, './maxMemory[1]')
        if not slots or not max_memory:
            raise _xml_error('both maximum memory size and memory slot '
                             'count must be specified')
        if max_memory < memory:
            raise _xml_error('maximum memory size must be equal or greater '
                             'than the actual memory size')

    vcpu_text = (root.findtext('vcpu') or '1').strip()
    try:
        vcpus = int(vcpu_text)
    except ValueError:
        raise _xml_error("Invalid value '%s' for element or attribute "
                         "'./vcpu[1]'" % vcpu_text)
    if vcpus < 1:
        raise _xml_error('Invalid number of vCPUs')

    spec = DomainSpec(
        root=root, name=name, uuid=dom_uuid, virt_type=virt_type,
        memory=memory, current_memory=current, max_memory=max_memory,
        memory_slots=slots, vcpus=vcpus, numa_cells=numa_cells,
        acpi=root.find('./features/acpi') is not None, nvdimms=nvdimms,
        dimm_bytes=dimm_bytes, dimm_count=dimm_count)
    _check_memory_hotplug(spec, devices_bytes, device_count)
    return spec


def _check_memory_hotplug(spec, devices_bytes, device_count):
    """libvirt's validation of memory devices against the memory layout."""
    if device_count and spec.max_memory is None:
        raise _unsupported("cannot use/hotplug a memory device when domain "
                           "'maxMemory' is not defined")
    if spec.max_memory is None:
        return
    if not spec.numa_cells:
        raise _unsupported('At least one numa node has to be configured '
                           'when enabling memory hotplug')
    if device_count > spec.memory_slots:
        raise _unsupported("memory device count '%d' exceeds slots count "
                           "'%d'" % (device_count, spec.memory_slots))
    initial = sum(spec.numa_cells.values())
    if initial + devices_bytes > spec.memory:
        raise _xml_error('Total size of memory devices exceeds the total '
                         'memory size')
    if devices_bytes > spec.max_memory - initial:
        raise _unsupported('memory device total size exceeds hotplug space')
    for nvdimm in spec.nvdimms:
        if nvdimm.node is None:
            raise _unsupported('target NUMA node needs to be specified for '
                               'memory device')
        if nvdimm.node not in spec.numa_cells:
            raise _unsupported(
                "can't add memory backend for guest node '%d' as the guest "
                "has only '%d' NUMA nodes configured"
                % (nvdimm.node, len(spec.numa_cells)))


def _backend_args(nvdimm):
    return ('-object memory-backend-file,id=memnvdimm%d,mem-path=%s,'
            'share=yes,size=%d' % (nvdimm.index, nvdimm.path, nvdimm.size))


def check_backing_file(nvdimm):
    """What QEMU checks when it maps an nvdimm's backing file."""
    try:
        fd = os.open(nvdimm.path, os.O_RDWR)
    except OSError as exc:
        raise errors.qemu_start_failure(
            "%s: could not open '%s': %s"
            % (_backend_args(nvdimm), nvdimm.path, exc.strerror))
    try:
        file_size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if file_size < nvdimm.size:
        raise errors.qemu_start_failure(
            "%s: backing store size 0x%x does not match 'size' option 0x%x"
            % (_backend_args(nvdimm), file_size, nvdimm.size))


def check_start(spec):
    """What QEMU refuses when it starts (or receives) this guest."""
    for nvdimm in spec.nvdimms:
        device = ('-device nvdimm,node=%s,label-size=%d,memdev=memnvdimm%d,'
                  'id=nvdimm%d,slot=%d' % (nvdimm.node, nvdimm.label_size,
                                           nvdimm.index, nvdimm.index,
                                           nvdimm.index))
        if not spec.acpi:
            raise errors.qemu_start_failure(
                '%s: memory hotplug is not enabled: missing acpi device or '
                'acpi disabled' % device)
        if nvdimm.visible_size <= 0:
            raise errors.qemu_start_failure(
                '%s: the size of memdev memnvdimm%d (0x%x) is too small to '
                'contain nvdimm label (0x%x) and aligned PMEM (0x%x)'
                % (device, nvdimm.index, nvdimm.size, nvdimm.label_size,
                   nvdimm.effective_align))
        check_backing_file(nvdimm)


def render(spec, dom_id=None, live=False):
    """The XML XMLDesc() returns.

    ``live`` is the running guest's view: its id, device aliases, and each
    nvdimm's guest-visible target size (label removed, aligned down) as
    libvirt shows it. Otherwise (inactive or MIGRATABLE) the definition is
    returned as given, which is what a destination must be handed.
    """
    root = copy.deepcopy(spec.root)
    if not live:
        root.attrib.pop('id', None)
        return ET.tostring(root, encoding='unicode')
    if dom_id is not None:
        root.set('id', str(dom_id))
    for nvdimm, elem in zip(spec.nvdimms,
                            root.findall("./devices/memory[@model='nvdimm']"),
                            strict=True):
        size_elem = elem.find('./target/size')
        size_elem.set('unit', 'KiB')
        size_elem.text = str(nvdimm.visible_size // KiB)
        if elem.find('alias') is None:
            ET.SubElement(elem, 'alias', name='nvdimm%d' % nvdimm.index)
    return ET.tostring(root, encoding='unicode')


def check_abi(source, target, dest_name=None):
    """libvirt's ABI-stability check of a destination definition.

    Paths may differ (that is the point of a destination XML); sizes,
    alignment, labels, nodes and memory layout may not.
    """
    expected_name = dest_name or source.name
    if target.name != expected_name:
        raise _unsupported("Target domain name '%s' does not match source "
                           "'%s'" % (target.name, expected_name))
    if target.uuid != source.uuid:
        raise _unsupported('Target domain uuid %s does not match source %s'
                           % (target.uuid, source.uuid))
    if target.memory != source.memory:
        raise _unsupported('Target domain max memory %d does not match '
                           'source %d' % (target.memory // KiB,
                                          source.memory // KiB))
    if (target.max_memory or 0) != (source.max_memory or 0):
        raise _unsupported("Target maximum memory size '%d' doesn't match "
                           "source '%d'" % ((target.max_memory or 0) // KiB,
                                            (source.max_memory or 0) // KiB))
    if target.memory_slots != source.memory_slots:
        raise _unsupported("Target domain max memory slots count '%d' "
                           "doesn't match source '%d'"
                           % (target.memory_slots, source.memory_slots))
    if target.vcpus != source.vcpus:
        raise _unsupported('Target domain vCPU max %d does not match source '
                           '%d' % (target.vcpus, source.vcpus))
    if len(target.nvdimms) != len(source.nvdimms):
        raise _unsupported('Target domain memory device count %d does not '
                           'match source %d' % (len(target.nvdimms),
                                                len(source.nvdimms)))
    for src, dst in zip(source.nvdimms, target.nvdimms, strict=True):
        _check_nvdimm_abi(src, dst)


def _check_nvdimm_abi(src, dst):
    if dst.size != src.size:
        raise _unsupported("Target memory device size '%d' doesn't match "
                           "source memory device size '%d'"
                           % (dst.size // KiB, src.size // KiB))
    if dst.label_size != src.label_size:
        raise _unsupported("Target NVDIMM label size '%d' doesn't match "
                           "source NVDIMM label size '%d'"
                           % (dst.label_size // KiB, src.label_size // KiB))
    if dst.effective_align != src.effective_align:
        raise _unsupported("Target memory device alignment '%d' doesn't "
                           "match source memory device alignment '%d'"
                           % (dst.effective_align // KiB,
                              src.effective_align // KiB))
    if dst.node != src.node:
        raise _unsupported("Target memory device targetNode '%s' doesn't "
                           "match source targetNode '%s'"
                           % (dst.node, src.node))
    if dst.pmem != src.pmem:
        raise _unsupported("Target NVDIMM pmem flag doesn't match source "
                           "NVDIMM pmem flag")

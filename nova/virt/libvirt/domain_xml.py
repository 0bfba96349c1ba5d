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

"""Domain XML for guests with vpmem, built by pure functions.

Nothing here talks to libvirt: functions take plain data and return XML,
so every rule libvirt and QEMU impose on a guest with NVDIMM devices is
unit-tested on its own:

* ``<memory>`` is the total: guest RAM plus every NVDIMM's size;
* ``<maxMemory slots=N>`` leaves one memory slot per NVDIMM;
* a NUMA cell holds the RAM and the devices' ``<node>``;
* ACPI must be on (memory hotplug needs it);
* ``<pmem/>`` only for real persistent memory (devdax): on a plain file
  QEMU warns and the file is not DAX;
* ``access='shared'`` so guest writes reach the backing namespace.
"""

import dataclasses
import xml.etree.ElementTree as ET

KiB = 1024
# QEMU's smallest label area; the guest keeps its namespace labels there.
NVDIMM_LABEL_KIB = 128


@dataclasses.dataclass(frozen=True)
class NvdimmSpec:
    """One guest NVDIMM backed by a host namespace."""

    path: str
    size: int          # bytes, the namespace size
    align: int         # bytes
    devdax: bool       # real persistent memory: add <pmem/>

    @property
    def size_kib(self):
        return self.size // KiB


@dataclasses.dataclass(frozen=True)
class GuestSpec:
    name: str
    uuid: str
    memory_mb: int
    vcpus: int
    virt_type: str = 'kvm'
    nvdimms: tuple = ()
    kernel: str | None = None
    cmdline: str | None = None


def nvdimm_specs(devices, devdax):
    """NvdimmSpecs from LibvirtVPMEMDevice objects, in the given order."""
    return tuple(NvdimmSpec(path=d.devpath, size=d.size, align=d.align,
                            devdax=devdax) for d in devices)


def build_domain(spec):
    """Return the ``<domain>`` element for ``spec``."""
    ram_kib = spec.memory_mb * 1024
    nvdimm_kib = sum(n.size_kib for n in spec.nvdimms)

    domain = ET.Element('domain', type=spec.virt_type)
    _text(domain, 'name', spec.name)
    _text(domain, 'uuid', spec.uuid)
    if spec.nvdimms:
        _text(domain, 'maxMemory', str(ram_kib + nvdimm_kib),
              slots=str(len(spec.nvdimms)), unit='KiB')
    _text(domain, 'memory', str(ram_kib + nvdimm_kib), unit='KiB')
    _text(domain, 'currentMemory', str(ram_kib + nvdimm_kib), unit='KiB')
    _text(domain, 'vcpu', str(spec.vcpus))

    os_elem = ET.SubElement(domain, 'os')
    _text(os_elem, 'type', 'hvm', arch='x86_64', machine='pc')
    if spec.kernel:
        _text(os_elem, 'kernel', spec.kernel)
        if spec.cmdline:
            _text(os_elem, 'cmdline', spec.cmdline)

    features = ET.SubElement(domain, 'features')
    ET.SubElement(features, 'acpi')

    cpu = ET.SubElement(domain, 'cpu')
    numa = ET.SubElement(cpu, 'numa')
    ET.SubElement(numa, 'cell', id='0', cpus='0-%d' % (spec.vcpus - 1),
                  memory=str(ram_kib), unit='KiB')

    _text(domain, 'on_poweroff', 'destroy')
    _text(domain, 'on_reboot', 'restart')
    _text(domain, 'on_crash', 'destroy')

    devices = ET.SubElement(domain, 'devices')
    for nvdimm in spec.nvdimms:
        devices.append(build_nvdimm(nvdimm))
    ET.SubElement(devices, 'memballoon', model='none')
    return domain


def build_nvdimm(nvdimm, node=0):
    """Return one ``<memory model='nvdimm'>`` element."""
    memory = ET.Element('memory', model='nvdimm', access='shared')
    source = ET.SubElement(memory, 'source')
    _text(source, 'path', nvdimm.path)
    _text(source, 'alignsize', str(nvdimm.align // KiB), unit='KiB')
    if nvdimm.devdax:
        ET.SubElement(source, 'pmem')
    target = ET.SubElement(memory, 'target')
    _text(target, 'size', str(nvdimm.size_kib), unit='KiB')
    _text(target, 'node', str(node))
    label = ET.SubElement(target, 'label')
    _text(label, 'size', str(NVDIMM_LABEL_KIB), unit='KiB')
    return memory


def to_string(element):
    ET.indent(element)
    return ET.tostring(element, encoding='unicode')


def guest_xml(spec):
    """The domain XML document for ``spec`` as a string."""
    return to_string(build_domain(spec))


def nvdimm_paths(xml):
    """Backing paths of a domain XML's NVDIMMs, in device order."""
    root = ET.fromstring(xml)
    return [m.findtext('./source/path')
            for m in root.findall('./devices/memory')
            if m.get('model') == 'nvdimm']


def _text(parent, tag, text, **attrs):
    elem = ET.SubElement(parent, tag, **attrs)
    elem.text = text
    return elem

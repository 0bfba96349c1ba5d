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

"""Options of the [libvirt] group: the hypervisor, vpmem and live migration."""

from oslo_config import cfg

libvirt_group = cfg.OptGroup(
    'libvirt',
    title='Libvirt options')

connection_opts = [
    cfg.StrOpt('connection_uri',
               default='',
               help="""
Libvirt connection URI of this host's hypervisor. Empty means
``qemu:///system``. A ``qemu+unix:///session?socket=...`` URI reaches a
session-mode daemon. A URI starting with ``emulated://`` selects the
emulated hypervisor that ships with this project for development and scale
tests; it needs no libvirt installed.
"""),
    cfg.StrOpt('virt_type',
               default='kvm',
               choices=[('kvm', 'Hardware-accelerated guests through KVM.'),
                        ('qemu', 'Guests under QEMU software emulation '
                                 '(TCG), for hosts where KVM cannot run '
                                 'them.')],
               help="Domain type of the guests this host creates."),
    cfg.StrOpt('hypervisor_hostname',
               help="""
Name of this host's compute node (its placement resource provider). Unset
uses the host name libvirt reports. Set it when several libvirt daemons
share one machine (session-mode daemons of an integration test or a
demo): they all report the machine's host name, and node names must be
unique.
"""),
]

pmem_opts = [
    cfg.ListOpt('pmem_namespaces',
                item_type=cfg.types.String(),
                default=[],
                help="""
Persistent memory namespaces this host offers to guests, grouped under
labels. Format: ``$LABEL:$NSNAME[|$NSNAME][,$LABEL:$NSNAME[|$NSNAME]]``.
A label is what flavors ask for with ``hw:pmem=$LABEL``; it becomes the
placement resource class ``CUSTOM_PMEM_NAMESPACE_$LABEL``. Each namespace
name must exist on the host and may appear only once. Example:
``128G:ns0|ns1|ns2,SMALL:ns3``. The service refuses to start when an entry
is malformed or names a namespace the host does not have.
"""),
    cfg.StrOpt('pmem_backend',
               default='ndctl',
               choices=[('ndctl', 'Namespaces are devdax devices found with '
                                  '``ndctl list -X`` and erased with '
                                  '``daxio -z``. For real persistent memory '
                                  'hosts.'),
                        ('file', 'Namespaces are files named after the '
                                 'namespace in ``pmem_file_dir``, erased in '
                                 'place. For development, the emulated '
                                 'hypervisor and test hosts.')],
               help="Where the namespaces named in ``pmem_namespaces`` "
                    "come from."),
    cfg.StrOpt('pmem_file_dir',
               default='$state_path/pmem',
               help="""
Directory holding the namespace files of the ``file`` backend. A namespace
``ns0`` is the file ``<pmem_file_dir>/ns0``.
"""),
    cfg.IntOpt('pmem_file_size_mb',
               default=64,
               min=4,
               help="""
Size in MiB of a ``file`` backend namespace that does not exist yet; it is
created allocated (see ``pmem_file_preallocate``). Existing files keep their
size.
"""),
    cfg.BoolOpt('pmem_file_preallocate',
                default=True,
                help="""
Keep ``file`` backend namespace files allocated on disk for their whole life:
created with all their blocks, the holes of a sparse file allocated when
nova-compute starts, and erased without freeing blocks. Disk space is used up
front (``pmem_file_size_mb`` times the number of namespaces). A destination
QEMU allocates a sparse backing file before a live migration's copy starts:
measured 2.83 s instead of 0.32 s for 1 GiB. False creates sparse files and
erases by punching holes, for development hosts whose disk cannot hold every
namespace.
"""),
    cfg.IntOpt('pmem_file_align_kb',
               default=2048,
               min=4,
               help="""
Alignment in KiB reported for ``file`` backend namespaces (the guest
device's ``alignsize``). 2048 matches devdax namespaces.
"""),
    cfg.BoolOpt('pmem_allow_mixed_sizes',
                default=False,
                help="""
Allow namespaces of different sizes under one label. Off by default: a
label is a promise of one size to flavors, and a live migration can only
map a guest's device onto a destination namespace of the same size.
"""),
]

migration_opts = [
    cfg.StrOpt('live_migration_scheme',
               help="""
Scheme of the libvirt URI used to reach the destination's hypervisor during
a live migration, for example ``tcp`` or ``ssh``. Unset keeps the scheme
of ``connection_uri``.
"""),
    cfg.HostAddressOpt('live_migration_inbound_addr',
                       help="""
Address other hosts use to send live migration traffic to this host. Unset
uses this host's ``host`` name. Set it to put migration traffic on its own
network.
"""),
    cfg.BoolOpt('live_migration_tunnelled',
                default=False,
                help="""
Carry the migration stream through the libvirt connection instead of a
direct hypervisor connection. Slower, but needs no extra open port.
"""),
    cfg.IntOpt('live_migration_bandwidth',
               default=0,
               min=0,
               help="""
Largest bandwidth, in MiB/s, a live migration may use. 0 leaves the
hypervisor's own limit (unlimited for QEMU). Guests with large vpmem
namespaces need a bandwidth above the rate at which they dirty memory to
converge.
"""),
    cfg.IntOpt('live_migration_downtime',
               default=500,
               min=100,
               help="""
Longest pause of the guest, in milliseconds, allowed for the final switch
to the destination. The migration starts below this value and raises it in
``live_migration_downtime_steps`` steps.
"""),
    cfg.IntOpt('live_migration_downtime_steps',
               default=10,
               min=3,
               help="""
Number of steps in which the allowed downtime grows to
``live_migration_downtime``.
"""),
    cfg.IntOpt('live_migration_downtime_delay',
               default=75,
               min=3,
               help="""
Seconds to wait between two downtime steps, per GiB of data to move. The
data counted is guest RAM, local disk and vpmem namespaces together.
"""),
    cfg.IntOpt('live_migration_completion_timeout',
               default=800,
               min=0,
               mutable=True,
               help="""
Seconds a live migration may run per GiB of data to move before
``live_migration_timeout_action`` is taken. The data counted is guest RAM,
local disk and vpmem namespaces together, so a guest with a large
namespace gets a proportionally longer budget. 0 disables the timeout.
"""),
    cfg.StrOpt('live_migration_timeout_action',
               default='abort',
               choices=[('abort', 'Cancel the migration; the guest keeps '
                                  'running on the source.'),
                        ('force_complete', 'Force the migration to finish. '
                         'Uses post-copy when it is permitted and the '
                         'guest can use it; otherwise pauses the guest '
                         'until the copy completes. Guests with vpmem are '
                         'always paused, never switched to post-copy.')],
               mutable=True,
               help="What to do when a live migration exceeds its "
                    "completion timeout."),
    cfg.BoolOpt('live_migration_permit_post_copy',
                default=False,
                help="""
Allow live migrations to switch to post-copy when they do not converge.
Never applied to a guest with vpmem namespaces: QEMU cannot post-copy
file-backed persistent memory, so those guests migrate pre-copy only (the
post-copy flag is not even sent to the hypervisor). Also left out, with a
warning, when either host's QEMU cannot use userfaultfd (for example
``vm.unprivileged_userfaultfd = 0``): the migration then runs pre-copy,
with auto-converge if ``live_migration_permit_auto_converge`` allows it.
"""),
    cfg.BoolOpt('live_migration_permit_auto_converge',
                default=False,
                help="""
Allow the hypervisor to throttle the guest's CPUs when a live migration
does not converge. Available to guests with vpmem, which cannot use
post-copy.
"""),
    cfg.StrOpt('live_migration_preflight',
               default='warn',
               choices=[('off', 'No estimate.'),
                        ('warn', 'Estimate from the dirty rate QEMU '
                                 'measures during the copy (after its '
                                 'second pass, or at its end), so the copy '
                                 'starts at once; when the migration is '
                                 'predicted not to converge, log a warning '
                                 'and go on. The estimate is recorded as '
                                 'the ``live_migration_preflight`` event of '
                                 'the server\'s action.'),
                        ('refuse', 'Measure the dirty rate for one second '
                                   'before the copy (libvirt >= 7.2, QEMU '
                                   '>= 5.2), and fail the migration before '
                                   'any byte is copied when it is predicted '
                                   'not to converge; the guest keeps running '
                                   'on the source.')],
               help="""
Whether, and from what, a live migration estimates if pre-copy converges
and how long it takes, from the guest's memory dirty rate, guest RAM plus
vpmem, the bandwidth in force, the downtime steps, auto-converge and the
completion budget. A guest whose data fits the downtime whatever it
dirties is predicted to converge before the copy, without a measurement.
In ``refuse`` mode the estimate is skipped, with a log message, when the
hypervisor cannot measure the dirty rate.
"""),
    cfg.IntOpt('live_migration_preflight_link_speed',
               default=1024,
               min=1,
               help="""
Bandwidth, in MiB/s, the pre-flight estimate assumes when
``live_migration_bandwidth`` is 0 and the domain has no maximum migration
speed (the copy then runs as fast as the network allows). Set it to what
the migration network carries: about 1100 MiB/s for 10 GbE.
"""),
    cfg.IntOpt('live_migration_parallel_connections',
               default=1,
               min=1,
               max=256,
               help="""
Number of parallel connections that carry the migration stream. Above 1
the hypervisor uses multiple file descriptors (QEMU multifd). Ignored with
``live_migration_tunnelled``: the tunnel is one connection, and libvirt
refuses parallel connections through it.
"""),
]

ALL_OPTS = connection_opts + pmem_opts + migration_opts


def register_opts(conf):
    conf.register_group(libvirt_group)
    conf.register_opts(ALL_OPTS, group=libvirt_group)


def list_opts():
    return {libvirt_group: ALL_OPTS}

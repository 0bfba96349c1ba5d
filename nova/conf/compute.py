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

"""Options of the [compute] group: the compute service's own behaviour."""

from oslo_config import cfg

compute_group = cfg.OptGroup(
    'compute',
    title='Compute service options')

compute_opts = [
    cfg.IntOpt('update_resources_interval',
               default=60,
               min=0,
               help="""
Seconds between two runs of the resource tracker's update, which rebuilds
the namespace assignments of this host from the database and reports the
inventory to placement. 0 runs it on every periodic tick.
"""),
    cfg.IntOpt('live_migration_progress_interval',
               default=5,
               min=1,
               help="""
Seconds between two writes of a running live migration's progress (bytes
copied and remaining) into its migration record.
"""),
    cfg.FloatOpt('cpu_allocation_ratio',
                 default=4.0,
                 min=0.0,
                 help="""
Virtual CPUs placement may allocate per physical CPU of this host.
"""),
    cfg.FloatOpt('ram_allocation_ratio',
                 default=1.0,
                 min=0.0,
                 help="""
Guest RAM placement may allocate per MiB of host RAM. Persistent memory
namespaces are never overcommitted, whatever this says.
"""),
    cfg.IntOpt('reserved_host_memory_mb',
               default=512,
               min=0,
               help="""
Host RAM in MiB kept for the host itself and never offered to guests.
"""),
    cfg.StrOpt('pmem_erase_verify',
               default='full',
               choices=[
                   ('full', 'Read the whole namespace back after the '
                            'erase.'),
                   ('sample', 'Read back a sample: the first and last '
                              'blocks and %d blocks of 64 KiB at random '
                              'offsets (new ones at every erase).'
                              % 256),
               ],
               help="""
How an erased vpmem namespace is checked before it becomes free again.
A namespace becomes free only after its erase was verified: one that
still holds data, or cannot be read, is quarantined instead. 'full'
reads every byte (one read of the namespace; sparse files cost nothing
for their holes); 'sample' trusts the erase tool for what it does not
read, in exchange for a fast check of large devices.
"""),
    cfg.BoolOpt('pmem_verify_erase',
                default=True,
                deprecated_for_removal=True,
                deprecated_since='2026.2',
                deprecated_reason="""
A namespace is never released unverified any more; use
[compute]pmem_erase_verify to choose between a full and a sampled check.
""",
                help="""
Superseded by pmem_erase_verify. False selects pmem_erase_verify =
sample (the erase is still checked); True changes nothing.
"""),
    cfg.IntOpt('vpmem_erase_retry_interval',
               default=60,
               min=1,
               help="""
Seconds before a quarantined vpmem namespace (one whose erase failed) is
erased again. Each further failure doubles the wait, up to
vpmem_erase_retry_max_interval. A quarantined namespace is never given
to an instance; placement keeps counting it as used.
"""),
    cfg.IntOpt('vpmem_background_erase_workers',
               default=2,
               min=1,
               help="""
How many erases of vpmem namespaces nova-compute runs at once in the
background. The source of a successful live migration erases the
namespaces it gave up there: the migration is reported completed
first, and the namespaces stay "erasing" (never given to an instance,
still counted in placement by the migration) until their verified
erase ends. More erases than this wait their turn.
"""),
    cfg.IntOpt('move_recovery_interval',
               default=60,
               min=0,
               help="""
Seconds between two sweeps of the moves (live and cold migrations) this
host takes part in that are not over: each is settled where its guest
runs (completed if it runs on the destination, rolled back if it runs on
the source). It also settles a server left in a move's task state after
its move from this host ended (the last save of the server as the move
was undone failed), once the server is older than
migration_stuck_timeout. The same sweep runs when nova-compute starts. 0
runs it on every periodic tick.
"""),
    cfg.IntOpt('migration_stuck_timeout',
               default=600,
               min=1,
               help="""
Seconds after which a migration still 'accepted' or 'queued' (its
conductor stopped, or the request to start it was lost) is rolled back by
its source host's recovery sweep. Moves this host ran itself are
recovered at once when it starts. Set it well above the time a conductor
needs to check and claim a destination: a live migration's conductor
still at work when it passes loses the migration to the source (it is
rolled back, and the user sees an error).
"""),
    cfg.IntOpt('power_action_stuck_timeout',
               default=300,
               min=1,
               help="""
Seconds after which a power action (stop, start, reboot, pause, unpause)
or a delete whose task_state is still set, with no such request running
on the instance in this nova-compute, is taken as lost: nova-api stopped
between taking the instance and sending the request, or the message was
lost. The host's periodic sweep then sends the same request to itself
again, and again each time this many seconds pass without it being run.
Set it above the time a request may wait in nova-compute's queue; a
request that was only slow does nothing once the first one ran.
"""),
    cfg.IntOpt('recovery_rpc_timeout',
               default=30,
               min=1,
               help="""
Seconds the recovery of a move waits for an answer from the other host of
the move before it tries again at the next sweep.
"""),
    cfg.IntOpt('vpmem_erase_retry_max_interval',
               default=3600,
               min=1,
               help="""
Longest wait, in seconds, between two erase attempts of a quarantined
vpmem namespace. ``nova-manage vpmem retry-erase`` retries at once.
"""),
    cfg.HostAddressOpt('migration_data_address',
                       default='127.0.0.1',
                       help="""
Address on which this host receives the contents of an instance's vpmem
namespaces during a cold migration. The source host connects to it
directly, so it must be reachable from every other compute host (set it to
this host's address on the management network in a multi-host
deployment). The port is taken from migration_data_port_min/max; the
connection is authenticated with a one-time token exchanged over RPC and
is not encrypted.
"""),
    cfg.PortOpt('migration_data_port_min',
                default=0,
                help="""
First port of the range on which this host receives cold migration vpmem
data (one port per incoming migration, the first free one). 0, with
migration_data_port_max 0, takes any free ephemeral port; set a range to
open it in a firewall.
"""),
    cfg.PortOpt('migration_data_port_max',
                default=0,
                help="""
Last port of the range of migration_data_port_min (included).
"""),
    cfg.IntOpt('migration_data_timeout',
               default=120,
               min=1,
               help="""
Seconds a cold migration waits on the vpmem data connection (for the
source to connect, or for the next block of data) before it gives up and
rolls back. The instance then stays on its source with its data.
"""),
    cfg.IntOpt('shutdown_timeout',
               default=60,
               min=0,
               help="""
Seconds a cold migration, a stop (``os-stop``) or a soft reboot waits for
the guest to power itself off after an ACPI shutdown request before it
stops the guest at once (a soft reboot then becomes a hard one). 0 stops
it at once. A clean shutdown lets the guest write out what it still holds
in RAM.
"""),
]


def register_opts(conf):
    conf.register_group(compute_group)
    conf.register_opts(compute_opts, group=compute_group)


def list_opts():
    return {compute_group: compute_opts}

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

"""The demo's verdict: facts gathered after a migration, checks out.

Everything here is a pure function of the facts, so each check is tested
without a cloud. A check has a stable name (the demo prints it, and a
failing one is named in the exit message) and a one-line detail.
"""

import dataclasses

MiB = 1 << 20
# On real hosts the guest itself proves its data (its stamps).
GUEST_STAMPS = "destination vpmem holds the guest's final stamps"


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclasses.dataclass
class HostState:
    """What each owner of state says about one compute host."""

    name: str
    rt_assigned: list        # namespaces the resource tracker assigned
    db_assigned: list        # namespaces in instance.resources (DB)
    placement_usage: int     # PMEM resource usage on the host's provider
    zeroed: dict = dataclasses.field(default_factory=dict)  # name -> bool


@dataclasses.dataclass
class MigrationFacts:
    """What the demo saw of one live migration."""

    source: str
    dest: str
    status: str                  # the Migration record's status (API)
    instance_host: str           # where the API says the server is
    source_namespaces: list      # the server's namespaces before
    dest_namespaces: list        # and after
    source_final_digests: list   # sha256 per device at the handover
    dest_digests: list           # sha256 per device now, on dest
    writer_rate: int = 0         # pages/s the guest was asked to write
    pages_written: int = 0       # guest writes during the migration
    pages_lost: int = 0          # of those, not on the destination
                                 # (None: not checked)
    elapsed: float = 0.0         # seconds, API request to completion
    bytes_moved: int = 0
    downtime_ms: int = 0
    iterations: int = 0
    hosts: dict = dataclasses.field(default_factory=dict)  # name -> state
    # Replaces the checksum comparison where the guest checks its data.
    content_check: Check = None
    prediction: str = None       # pre-flight estimate against actual time


def human_bytes(count):
    """``12.0 MiB``-style sizes (binary units, one decimal)."""
    value = float(count)
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if abs(value) < 1024 or unit == 'GiB':
            return ('%d %s' % (value, unit) if unit == 'B'
                    else '%.1f %s' % (value, unit))
        value /= 1024
    return '%.1f TiB' % value


def _short(digest):
    return digest[:12] if digest else '-'


def check_completed(facts):
    ok = facts.status == 'completed' and facts.instance_host == facts.dest
    return Check('migration completed', ok,
                 'status %s, server on %s' % (facts.status,
                                              facts.instance_host))


def check_checksum(facts):
    source, dest = facts.source_final_digests, facts.dest_digests
    ok = bool(source) and len(source) == len(dest) and source == dest
    if not source:
        detail = 'the source contents at the handover were not captured'
    else:
        detail = '%d device(s); sha256 %s' % (
            len(dest), ', '.join('%s %s %s' % (
                _short(s), '==' if s == d else '!=', _short(d))
                for s, d in zip(source, dest, strict=False)))
    return Check("destination vpmem == source's final contents", ok, detail)


def check_guest_writes(facts):
    name = 'guest writes during the migration all arrived'
    if facts.pages_lost is None:
        return Check(name, False, 'not checked: the guest did not arrive '
                                  'on %s' % facts.dest)
    # A busy guest that wrote nothing would prove nothing.
    ok = facts.pages_lost == 0 and (facts.pages_written > 0 or
                                    not facts.writer_rate)
    return Check(name, ok, '%d page writes, %d missing on %s' % (
        facts.pages_written, facts.pages_lost, facts.dest))


def check_source_erased(facts):
    state = facts.hosts.get(facts.source)
    zeroed = state.zeroed if state else {}
    dirty = [n for n in facts.source_namespaces if not zeroed.get(n)]
    return Check('source namespaces erased (read back as zeros)',
                 bool(facts.source_namespaces) and not dirty,
                 '%s on %s' % ('all zero' if not dirty else
                               'holding data: ' + ', '.join(dirty),
                               facts.source))


def check_source_free(facts):
    state = facts.hosts.get(facts.source)
    if state is None:
        return Check('source namespaces free', False,
                     'no state for %s' % facts.source)
    held = sorted(set(facts.source_namespaces) &
                  set(state.rt_assigned + state.db_assigned))
    ok = not held and state.placement_usage == 0
    return Check('source namespaces free', ok,
                 '%s: assigned %s, placement usage %d' % (
                     facts.source, ', '.join(held) or 'none',
                     state.placement_usage))


def check_host_agrees(state):
    rt, db = sorted(state.rt_assigned), sorted(state.db_assigned)
    ok = rt == db and state.placement_usage == len(rt)
    return Check('placement, tracker and DB agree on %s' % state.name, ok,
                 'placement %d, tracker [%s], DB [%s]' % (
                     state.placement_usage, ' '.join(rt), ' '.join(db)))


def check_dest_holds(facts):
    state = facts.hosts.get(facts.dest)
    assigned = sorted(state.rt_assigned) if state else []
    wanted = sorted(facts.dest_namespaces)
    ok = (bool(wanted) and len(wanted) == len(facts.source_namespaces) and
          set(wanted) <= set(assigned))
    return Check('destination namespaces assigned to the server', ok,
                 '%s: %s' % (facts.dest, ', '.join(wanted) or 'none'))


def evaluate(facts):
    """Every check of the report, in the order the demo prints them."""
    if facts.content_check is not None:
        # The guest checked its own writes (real hosts).
        data = [facts.content_check]
    else:
        data = [check_checksum(facts), check_guest_writes(facts)]
    checks = [check_completed(facts)] + data + [
        check_source_erased(facts), check_source_free(facts),
        check_dest_holds(facts)]
    checks += [check_host_agrees(facts.hosts[name])
               for name in sorted(facts.hosts)]
    return checks


def failed(checks):
    return [c for c in checks if not c.ok]


def summary_rows(facts):
    """(label, value) rows of the numbers the demo reports."""
    rate = facts.bytes_moved / facts.elapsed if facts.elapsed else 0
    rows = [
        ('from -> to', '%s -> %s' % (facts.source, facts.dest)),
        ('elapsed', '%.2f s' % facts.elapsed),
        ('bytes moved', '%s (%s/s)' % (human_bytes(facts.bytes_moved),
                                       human_bytes(rate))),
        ('downtime', '%d ms' % facts.downtime_ms),
        ('iterations', str(facts.iterations)),
    ]
    if facts.content_check is None:
        rows.append(('guest page writes while migrating',
                     str(facts.pages_written)))
    if facts.prediction:
        rows.append(('pre-flight prediction', facts.prediction))
    return rows

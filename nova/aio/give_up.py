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

"""When the demo stops waiting for a live migration, and how it leaves.

The demo waits as long as the product would: the compute host's
completion budget (``[libvirt]live_migration_completion_timeout`` per GiB
of RAM and vpmem, computed by the driver's own function) plus a grace for
the host's own timeout action to land. Past that it aborts the migration
through the API, as a user would, and waits until the cloud cleaned up:
the migration record final, the server ACTIVE on the source, placement
allocations only there, and the destination's namespaces unassigned and
erased. Each of those is a check of the report, so a cloud that does not
clean up fails the demo by name.
"""

import dataclasses
import time

from nova.aio import checks
from nova.aio import cloud as aio_cloud
from nova.aio import http
from nova.aio import state as aio_state
from nova.virt.libvirt import migration as lm

MiB = 1 << 20
# Seconds past the budget before the demo acts: the host's own timeout
# action (abort, or pause to complete) gets them first.
GRACE = 30
CLEANUP_TIMEOUT = 120
FINAL_STATUSES = ('completed', 'failed', 'error', 'cancelled')
# The check a give-up fails; the exit message names it.
WITHIN_BUDGET = 'migration finished within the completion budget'


def product_budget(conf, ram_mb, vpmem_bytes):
    """Seconds the compute host lets the migration run; 0: no limit.

    The driver's own formula (RAM + vpmem, no local disk: the demo's
    flavor has none), so the demo never gives up before the product.
    """
    return lm.completion_timeout(
        conf.libvirt.live_migration_completion_timeout,
        lm.data_gib(ram_mb, 0, vpmem_bytes))


def give_up_after(budget, grace=None):
    """Seconds after the request the demo gives up; None: never."""
    if not budget:
        return None
    return budget + (GRACE if grace is None else grace)


def advice(bandwidth_mib, dirty_pages_per_second, page=4096):
    """What to change so the next run converges, in the user's options."""
    dirty_mib = dirty_pages_per_second * page / MiB
    text = ('the guest writes %.1f MiB/s into its vpmem' % dirty_mib
            if dirty_pages_per_second else 'the guest writes at its own '
            'pace')
    limit = ('%d MiB/s' % bandwidth_mib if bandwidth_mib
             else 'the hypervisor\'s own limit')
    return ('%s and the migration may use %s: raise --bandwidth-mib well '
            'above the write rate, lower --dirty-pages, or allow more time '
            'with --completion-timeout' % (text, limit))


class AbortRefused(Exception):
    """The API would not abort (the migration left the running states)."""


def abort(api, server_id, migration_id):
    """DELETE the migration, as ``openstack server migration abort``."""
    try:
        api.request('DELETE', '/servers/%s/migrations/%s' % (
            server_id, migration_id))
    except http.APIError as exc:
        if exc.status in (400, 404, 409):
            raise AbortRefused(str(exc)) from None
        raise


@dataclasses.dataclass
class Cleanup:
    """What the owners of state say after the abort."""

    migration_status: str
    server_status: str
    task_state: str
    server_host: str
    server_providers: list           # provider names with the server's
    migration_providers: list        # ... and the migration's allocations
    dest_assigned: list              # namespaces held on the destination
    dest_placement_usage: int
    dest_not_erased: list            # destination namespaces with data


def cleanup_checks(facts, source, dest):
    """The checks of a clean abort, pure functions of ``facts``."""
    final = facts.migration_status in FINAL_STATUSES
    on_source = (facts.server_status == 'ACTIVE' and
                 not facts.task_state and facts.server_host == source)
    alloc_ok = (bool(facts.server_providers) and
                all(not p.startswith(dest) for p in facts.server_providers)
                and not facts.migration_providers)
    dest_ok = (not facts.dest_assigned and not facts.dest_placement_usage
               and not facts.dest_not_erased)
    return [
        checks.Check('aborted migration is final', final,
                     'status %s' % facts.migration_status),
        checks.Check('server ACTIVE on the source after the abort',
                     on_source, 'status %s, task %s, on %s' % (
                         facts.server_status, facts.task_state or '-',
                         facts.server_host)),
        checks.Check('allocations only on the source after the abort',
                     alloc_ok, 'server on [%s], migration on [%s]' % (
                         ', '.join(facts.server_providers),
                         ', '.join(facts.migration_providers))),
        checks.Check('destination namespaces free and erased', dest_ok,
                     '%s: assigned [%s], placement usage %d, data in [%s]'
                     % (dest, ', '.join(facts.dest_assigned),
                        facts.dest_placement_usage,
                        ', '.join(facts.dest_not_erased))),
    ]


def wait_for_cleanup(look, source, dest, timeout=CLEANUP_TIMEOUT,
                     interval=0.5, clock=time.monotonic, sleep=time.sleep):
    """Call ``look()`` until the cleanup checks hold or ``timeout`` ends.

    Returns the last Cleanup; the checks say what was left behind.
    """
    deadline = clock() + timeout
    while True:
        facts = look()
        if not checks.failed(cleanup_checks(facts, source, dest)) or \
                clock() > deadline:
            return facts
        sleep(interval)


def _provider_names(placement, consumer):
    found = placement.get('/allocations/%s' % consumer)
    names = []
    for rp_uuid in sorted(found.get('allocations') or {}):
        names.append(placement.get('/resource_providers/%s' %
                                   rp_uuid)['name'])
    return sorted(names)


def look(cloud, api, placement, server_id, migration, dest):
    """One Cleanup, from the API, placement, the tracker and the files."""
    rows = api.get('/os-migrations?instance_uuid=%s' %
                   server_id)['migrations']
    row = next((r for r in rows if r['id'] == migration['id']), migration)
    server = api.get('/servers/%s' % server_id)['server']
    every = aio_cloud.namespace_names(cloud.options.namespaces_per_host)
    dest_state = aio_state.host_state(cloud, placement, dest,
                                      check_zero=every)
    return Cleanup(
        migration_status=row['status'],
        server_status=server['status'],
        task_state=server.get('OS-EXT-STS:task_state'),
        server_host=server.get('OS-EXT-SRV-ATTR:host'),
        server_providers=_provider_names(placement, server_id),
        migration_providers=(_provider_names(placement, row['uuid'])
                             if row.get('uuid') else []),
        dest_assigned=sorted(set(dest_state.rt_assigned) |
                             set(dest_state.db_assigned)),
        dest_placement_usage=dest_state.placement_usage,
        dest_not_erased=sorted(n for n, zero in dest_state.zeroed.items()
                               if not zero))

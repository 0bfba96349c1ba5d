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

"""Scale: many hosts, many servers, a burst of scheduled live migrations.

One process holds the cloud (``tools/bench/cloud.py``): 20 emulated
hosts with 64 file namespaces each, 640 servers booted through the API
(in parallel, the scheduler placing them). Then N concurrent scheduled
live migrations through the REST API: one thread and one HTTP connection
per request, released together. Every answer is counted (202, refusals
by reason, 5xx and connection errors); every accepted migration is
followed to its end (a ``Migration.save()`` hook); no namespace may be
held by two instances (checked in the database during the run and
after, and against placement's usages after).

Beside it, nova's SQL statements per scheduled migration as the number of
hosts grows (3, 10, 20): each in a small cloud of its own, in a child
process (placement keeps one engine per process).
"""

import collections
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

from nova.aio import http as http_client
from tools.bench import cloud as bench_cloud
from tools.bench import counters

HOSTS, NAMESPACES, SERVERS, MIGRATIONS = 20, 64, 640, 200
QUICK = dict(hosts=4, namespaces=12, servers=20, migrations=20)
NAMESPACE_MIB = 4
CPU_RATIO = 16.0
# Before 2.34 the POST waits for the conductor's checks: the path where
# a slow conductor used to turn into an error for the client.
MIGRATE_VERSION = '2.30'
# As the run: a conductor slower than this under the burst.
RPC_TIMEOUT = 10
# Setup, not the measurement: few enough not to overload nova's SQLite.
BOOT_THREADS = 4
# A boot not settled this long after the last one did is stuck.
STUCK_S = 60
SQL_PROBE_HOSTS = (3, 10, 20)
SQL_PROBE_MIGRATIONS = 6
SETTLE_S = 1.0
END_STATUSES = ('completed', 'error', 'failed', 'cancelled')
_UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                   r'[0-9a-f]{12}')


def host_names(count):
    return tuple('compute-%02d' % i for i in range(count))


# -- the cloud ---------------------------------------------------------------

def start_cloud(workdir, hosts, namespaces, placement_counter=None):
    # An emulated host has 8 CPUs: at the default ratio of 4, 32 one-vCPU
    # servers fill its VCPU and no migration could land. Namespaces are
    # what this measures.
    bench_cloud.CONF.set_override('cpu_allocation_ratio', CPU_RATIO,
                                  group='compute')
    cloud = bench_cloud.start(workdir, hosts=host_names(hosts),
                              namespace_mib=NAMESPACE_MIB,
                              namespaces_per_host=namespaces,
                              placement_counter=placement_counter)
    bench_cloud.CONF.set_override('rpc_response_timeout', RPC_TIMEOUT)
    return cloud


def boot_many(cloud, flavor, count, progress):
    """Boot ``count`` servers through the API, ``BOOT_THREADS`` at a time.

    Returns ``(ids of the ACTIVE ones, seconds, failures by reason)``: a
    failed boot is the setup's finding, reported, not a reason to stop.
    """
    began = time.monotonic()
    ids, failures, lock = [], collections.Counter(), threading.Lock()
    todo = list(range(count))

    def worker():
        api = bench_cloud.api_client(cloud)
        while True:
            with lock:
                if not todo:
                    return
                index = todo.pop()
            try:
                created = api.post('/servers', {'server': {
                    'name': 'scale-%d' % index, 'flavorRef': flavor,
                    'imageRef': bench_cloud.IMAGE, 'networks': 'none'}})
            except http_client.APIError as exc:
                with lock:
                    failures['POST /servers %s' % exc.status] += 1
                continue
            with lock:
                ids.append(created['server']['id'])

    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(BOOT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    api = bench_cloud.api_client(cloud)
    status = {}

    def all_settled():
        servers = api.get('/servers/detail')['servers']
        status.clear()
        status.update((s['id'], (s['status'], (s.get('fault') or {}).get(
            'message', ''))) for s in servers if s['id'] in ids)
        return all(state in ('ACTIVE', 'ERROR')
                   for state, _fault in status.values())

    # A boot whose service hit an error may stay BUILD: wait until the
    # count stops moving, then report those as stuck.
    last, still = None, time.monotonic()
    while not all_settled():
        settled = sum(1 for state, _f in status.values()
                      if state in ('ACTIVE', 'ERROR'))
        if settled != last:
            last, still = settled, time.monotonic()
        elif time.monotonic() - still > STUCK_S:
            break
        time.sleep(1.0)
    for state, fault in status.values():
        if state == 'ERROR':
            failures['ERROR: %s' % reason_of(fault)] += 1
        elif state != 'ACTIVE':
            failures['stuck in %s' % state] += 1
    active = [sid for sid, (state, _f) in status.items() if state == 'ACTIVE']
    seconds = time.monotonic() - began
    progress('%d servers ACTIVE in %.0f s; failed: %s' % (
        len(active), seconds, dict(failures) or 'none'))
    return active, seconds, dict(failures)


# -- what the database and placement hold -----------------------------------

def held_twice(context):
    """Namespaces the database gives to more than one instance.

    An instance holds its resources and, while it moves, its migration
    context's new ones; the same namespace (provider, class, identifier)
    under two instances is a double assignment.
    """
    from nova import objects
    holders = collections.defaultdict(set)
    instances = objects.InstanceList.get_by_filters(
        context, {}, expected_attrs=['resources', 'migration_context'])
    for instance in instances:
        resources = list(instance.resources or [])
        context_ = instance.migration_context
        if context_ is not None and context_.new_resources:
            resources.extend(context_.new_resources)
        for res in resources:
            holders[(res.provider_uuid, res.resource_class,
                     res.identifier)].add(instance.uuid)
    return {key: sorted(uuids) for key, uuids in holders.items()
            if len(uuids) > 1}


def placement_mismatches(cloud, context):
    """Hosts whose placement usage differs from what instances hold."""
    from nova import objects
    from nova.aio import cloud as aio_cloud
    client = cloud.manager(next(iter(cloud.computes))).reportclient
    instances = objects.InstanceList.get_by_filters(
        context, {}, expected_attrs=['resources'])
    held = collections.Counter(res.provider_uuid for i in instances
                               for res in (i.resources or []))
    mismatches = {}
    for node in objects.ComputeNodeList.get_all(context):
        used = client.get_usages(context, node.uuid).get(
            aio_cloud.RESOURCE_CLASS, 0)
        if used != held.get(node.uuid, 0):
            mismatches[node.host] = {'placement': used,
                                     'instances': held.get(node.uuid, 0)}
    return mismatches


def why_not_completed(context, not_completed):
    """``{reason: count}`` for accepted migrations that did not complete:
    the newest fault of each instance (a rollback records one), with the
    names that differ per request replaced; for one that never ended,
    also the status its migration has now."""
    from nova.db import api as db
    from nova import objects
    faults = db.instance_fault_get_by_instance_uuids(
        context, list(not_completed), latest=True)
    reasons = collections.Counter()
    for uuid, status in not_completed.items():
        if status not in END_STATUSES:
            # Not ended: where it stands now, for whoever looks into it.
            migrations = objects.MigrationList.get_by_filters(
                context, {'instance_uuid': uuid})
            newest = max(migrations, key=lambda m: m.id, default=None)
            status = '%s (migration %s)' % (
                status, newest.status if newest else 'missing')
        found = faults.get(uuid) or [{}]
        message = found[0].get('message') or 'no fault recorded'
        reasons['%s: %s' % (status, reason_of(message))] += 1
    return dict(reasons)


class Sampler:
    """Checks for double assignments every ``interval`` s meanwhile."""

    def __init__(self, context, interval=1.0):
        self.context = context
        self.interval = interval
        self.samples = 0
        self.failed = collections.Counter()
        self.found = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.found.update(held_twice(self.context))
            except Exception as exc:
                # The database is the cloud's: a busy one fails a sample,
                # not the run.
                self.failed[type(exc).__name__] += 1
                continue
            self.samples += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# -- the burst ---------------------------------------------------------------

def post_live_migrate(port, server_id, timeout):
    """One scheduled os-migrateLive on a connection of its own.

    Returns ``(status or None, body text or the error's name)``.
    """
    body = json.dumps({'os-migrateLive': {'host': None,
                                          'block_migration': 'auto'}})
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('POST', '/v2.1/servers/%s/action' % server_id, body, {
            'Content-Type': 'application/json', 'X-Auth-Token': 'admin',
            'OpenStack-API-Version': 'compute %s' % MIGRATE_VERSION})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors='replace')
    except Exception as exc:
        return None, type(exc).__name__
    finally:
        conn.close()


def reason_of(text):
    """A refusal's message without the names that differ per request."""
    try:
        doc = json.loads(text)
        message = next(iter(doc.values()))['message']
    except (ValueError, TypeError, KeyError, AttributeError, StopIteration):
        message = text
    message = _UUID.sub('<uuid>', message)
    return re.sub(r'compute-\d+', '<host>', message)[:200]


def burst(cloud, server_ids, timeline):
    """Start one live migration per server at once; follow them to the
    end. Returns the raw results."""
    port = cloud.api.port
    barrier = threading.Barrier(len(server_ids))
    answers = {}

    def client(server_id):
        barrier.wait()
        began = time.monotonic()
        status, text = post_live_migrate(port, server_id, timeout=600)
        answers[server_id] = (began, time.monotonic(), status, text)

    threads = [threading.Thread(target=client, args=(sid,), daemon=True)
               for sid in server_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def wait_ended(timeline, accepted, timeout):
    """``{instance uuid: (status, time)}`` once every accepted one ended,
    or none ended for ``STUCK_S`` (those are reported as not ended)."""
    deadline = time.monotonic() + timeout
    last, still = -1, time.monotonic()
    while True:
        ended = {}
        for label, at, key in timeline.since(0):
            if key in accepted and label in END_STATUSES:
                ended.setdefault(key, (label, at))
        if len(ended) != last:
            last, still = len(ended), time.monotonic()
        if (len(ended) == len(accepted) or time.monotonic() > deadline or
                time.monotonic() - still > STUCK_S):
            return ended
        time.sleep(0.2)


def summarize_burst(answers, ended, placement_before, placement_after):
    statuses = collections.Counter()
    refused = collections.Counter()
    errors = collections.Counter()
    for _began, _answered, status, text in answers.values():
        statuses[str(status)] += 1
        if status is None or status >= 500:
            errors['%s %s' % (status or 'no answer', reason_of(text))] += 1
        elif status != 202:
            refused['%s %s' % (status, reason_of(text))] += 1
    accepted = [sid for sid, a in answers.items() if a[2] == 202]
    completed = [sid for sid in accepted
                 if ended.get(sid, ('',))[0] == 'completed']
    first = min(a[0] for a in answers.values())
    to_end = [ended[sid][1] - answers[sid][0] for sid in completed]
    answer_s = [a[1] - a[0] for a in answers.values()]
    last = max((ended[sid][1] for sid in completed), default=first)
    lock = {'mode': placement_after.get('mode')}
    for kind in ('read', 'write'):
        if kind in placement_after:
            lock[kind] = {key: round(value - placement_before[kind][key], 4)
                          for key, value in placement_after[kind].items()}

    def pct(values, q):
        found = counters.percentile(values, q)
        return None if found is None else round(found, 3)

    return {
        'requests': len(answers),
        'accepted': len(accepted),
        'completed': len(completed),
        'not_completed': {sid: ended.get(sid, ('still running',))[0]
                          for sid in accepted if sid not in completed},
        'statuses': dict(statuses),
        'refused': dict(refused),
        'errors': sum(errors.values()),
        'error_reasons': dict(errors),
        'migrations_per_s': (round(len(completed) / (last - first), 2)
                             if completed and last > first else None),
        'p50_s': pct(to_end, 50),
        'p95_s': pct(to_end, 95),
        'answer_p50_s': pct(answer_s, 50),
        'answer_p95_s': pct(answer_s, 95),
        'answer_max_s': round(max(answer_s), 3),
        'wall_s': round(last - first, 2),
        'placement_lock': lock,
    }


def placement_lock_stats(cloud):
    app = cloud.placement.app
    guard = getattr(app, '__wrapped__', app)
    stats = getattr(guard, 'stats', None)
    return stats() if stats else {'mode': 'unknown'}


def hosts_used(context, accepted):
    from nova import objects
    used = collections.Counter()
    for migration in objects.MigrationList.get_by_filters(
            context, {'status': 'completed'}):
        if migration.instance_uuid in accepted:
            used[migration.dest_compute] += 1
    return dict(sorted(used.items()))


# -- SQL statements per migration, as hosts grow -----------------------------

def sql_probe(workdir, hosts, count):
    """Sequential scheduled migrations in a small cloud of ``hosts``.

    Returns nova's SQL statements per migration (the API's, the
    conductor's and both computes', to completion).
    """
    sql = counters.SqlCounter()
    timeline = counters.Timeline()
    cloud = start_cloud(workdir, hosts, 2)
    try:
        from nova import objects
        timeline.after(objects.Migration, 'save', lambda m: (
            m.obj_attr_is_set('status') and m.status in END_STATUSES and
            timeline.mark(m.status, m.instance_uuid)))
        api = bench_cloud.api_client(cloud)
        flavor = bench_cloud.create_flavor(api, 'scale-pmem', ram_mb=64)
        [server_id], _, _ = boot_many(cloud, flavor, 1,
                                      lambda msg: None)
        sql.install()
        per_migration = []
        for _ in range(count):
            before = sql.snapshot()
            since = time.monotonic()
            status, text = post_live_migrate(cloud.api.port, server_id, 60)
            if status != 202:
                raise bench_cloud.BenchError('probe migration: %s %s' % (
                    status, text[:200]))
            if timeline.wait_for('completed', since, 60) is None:
                raise bench_cloud.BenchError('probe migration not done')
            # The source's erase and clean-up follow the completion; the
            # bench's own API polling (SQL too) stays out of the window.
            time.sleep(SETTLE_S)
            after = sql.snapshot()
            bench_cloud.wait_for('server ACTIVE', lambda: bench_cloud.
                                 active_on(api, server_id))
            per_migration.append(counters.delta(
                after, before)['statements'].get('nova', 0))
        return {'hosts': hosts, 'per_migration': per_migration,
                'median': sorted(per_migration)[len(per_migration) // 2]}
    finally:
        sql.uninstall()
        timeline.uninstall()
        bench_cloud.stop(cloud)


def sql_growth(options, progress):
    """Run ``sql_probe`` for each size in a child process."""
    sizes = SQL_PROBE_HOSTS[:2] if options.quick else SQL_PROBE_HOSTS
    results = {}
    for hosts in sizes:
        workdir = os.path.join(options.workdir, 'sql-%d' % hosts)
        os.makedirs(workdir, exist_ok=True)
        out = os.path.join(workdir, 'result.json')
        proc = subprocess.run(
            [sys.executable, '-m', 'tools.bench.scale', '--sql-probe',
             str(hosts), workdir, out], capture_output=True, text=True,
            timeout=600)
        try:
            with open(out) as f:
                results[str(hosts)] = json.load(f)
        except (OSError, ValueError):
            results[str(hosts)] = {'error': (proc.stderr or '')[-500:]}
        progress('SQL statements per migration with %d hosts: %s' % (
            hosts, results[str(hosts)].get('median')))
    return results


# -- the part -----------------------------------------------------------------

def run(options, progress):
    size = (QUICK if options.quick else
            dict(hosts=HOSTS, namespaces=NAMESPACES, servers=SERVERS,
                 migrations=MIGRATIONS))
    sql_by_hosts = sql_growth(options, progress)
    progress('starting %(hosts)d hosts x %(namespaces)d namespaces' % size)
    placement = counters.PlacementCounter()
    sql = counters.SqlCounter()
    timeline = counters.Timeline()
    cloud = start_cloud(os.path.join(options.workdir, 'main'),
                        size['hosts'], size['namespaces'], placement)
    try:
        from nova import objects
        context = cloud.admin_context()
        timeline.after(objects.Migration, 'save', lambda m: (
            m.obj_attr_is_set('status') and m.status in END_STATUSES and
            timeline.mark(m.status, m.instance_uuid)))
        api = bench_cloud.api_client(cloud)
        flavor = bench_cloud.create_flavor(api, 'scale-pmem', ram_mb=64)
        server_ids, boot_s, boot_failures = boot_many(
            cloud, flavor, size['servers'], progress)
        movers = server_ids[:size['migrations']]
        progress('%d concurrent scheduled live migrations' % len(movers))
        sql.install()
        sql_before = sql.snapshot()
        lock_before = placement_lock_stats(cloud)
        cpu_before = counters.cpu_seconds()
        with Sampler(context) as sampler:
            answers = burst(cloud, movers, timeline)
            accepted = {sid for sid, a in answers.items() if a[2] == 202}
            ended = wait_ended(timeline, accepted, timeout=600)
        cpu_s = counters.cpu_seconds() - cpu_before
        sql_after = sql.snapshot()
        section = summarize_burst(answers, ended, lock_before,
                                  placement_lock_stats(cloud))
        double = dict(sampler.found)
        double.update(held_twice(context))
        section.update({
            'double_assignments': len(double),
            # Which namespace, held by whom: a finding to look into.
            'double_assignment_holders': {
                '/'.join(key): holders for key, holders in sorted(
                    double.items())},
            'double_assignment_samples': sampler.samples + 1,
            'double_assignment_samples_failed': dict(sampler.failed),
            'placement_mismatches': placement_mismatches(cloud, context),
            'not_completed_reasons': why_not_completed(
                context, section['not_completed']),
            'hosts_used': hosts_used(context, accepted),
            'cpu_s_per_migration': (round(cpu_s / section['completed'], 3)
                                    if section['completed'] else None),
            'sql_statements_per_migration_burst': (round(
                counters.delta(sql_after, sql_before)['statements'].get(
                    'nova', 0) / max(1, section['accepted']), 1)),
            'placement_requests_per_migration': round(
                placement.snapshot()['total'] / max(1, len(answers)), 1),
        })
        progress('%(accepted)d of %(requests)d accepted, %(completed)d '
                 'completed, %(errors)d errors, %(migrations_per_s)s/s, '
                 'p95 %(p95_s)s s' % section)
    finally:
        sql.uninstall()
        timeline.uninstall()
        bench_cloud.stop(cloud)
    section.update({
        'hosts': size['hosts'], 'namespaces_per_host': size['namespaces'],
        'servers': size['servers'], 'namespace_mib': NAMESPACE_MIB,
        'boot_s': round(boot_s, 1), 'boot_failures': boot_failures,
        'boot_threads': BOOT_THREADS, 'api_microversion': MIGRATE_VERSION,
        'rpc_response_timeout_s': RPC_TIMEOUT,
        'cpu_allocation_ratio': CPU_RATIO,
        'sql_statements_per_migration': {
            hosts: found.get('median')
            for hosts, found in sql_by_hosts.items()},
        'sql_probe': sql_by_hosts,
        'options': _options(),
    })
    return section


def _options():
    """The settings this run's fixes depend on, as they were."""
    conf = bench_cloud.CONF
    found = {}
    for group, name in (('wsgi', 'backlog'), ('wsgi', 'default_pool_size'),
                        ('filter_scheduler', 'host_subset_size')):
        try:
            found['%s.%s' % (group, name)] = getattr(getattr(conf, group),
                                                     name)
        except Exception:
            found['%s.%s' % (group, name)] = None
    return found


# -- report ------------------------------------------------------------------

def _fmt(value):
    return '-' if value is None else str(value)


def markdown(section):
    if 'skipped' in section and 'requests' not in section:
        return '**Scale**: skipped (%s)\n' % section['skipped']
    rows = [
        ('hosts x namespaces, servers', '%s x %s, %s' % (
            section.get('hosts'), section.get('namespaces_per_host'),
            section.get('servers'))),
        ('concurrent live migrations (requests)', section.get('requests')),
        ('accepted (202) / completed', '%s / %s' % (
            section.get('accepted'), section.get('completed'))),
        ('refused (4xx)', sum((section.get('refused') or {}).values())),
        ('errors (5xx, resets)', section.get('errors')),
        ('migrations/s', section.get('migrations_per_s')),
        ('p50 / p95 request -> completed (s)', '%s / %s' % (
            _fmt(section.get('p50_s')), _fmt(section.get('p95_s')))),
        ('double assignments', section.get('double_assignments')),
        ('hosts used', len(section.get('hosts_used') or {})),
        ('CPU s per migration', section.get('cpu_s_per_migration')),
        ('nova SQL statements per migration by hosts', ', '.join(
            '%s: %s' % (h, _fmt(n)) for h, n in sorted(
                (section.get('sql_statements_per_migration') or {}).items(),
                key=lambda item: int(item[0])))),
    ]
    lock = section.get('placement_lock') or {}
    if lock:
        rows.append(('placement lock wait (s, reads / writes)',
                     '%s / %s (%s)' % (
                         (lock.get('read') or {}).get('wait_s'),
                         (lock.get('write') or {}).get('wait_s'),
                         lock.get('mode'))))
    out = ['**Scale** (emulated hosts, one process)', '',
           '| | |', '|---|---|']
    out += ['| %s | %s |' % (k, _fmt(v)) for k, v in rows]
    for label, key in (('Refused', 'refused'), ('Errors', 'error_reasons'),
                       ('Not completed', 'not_completed_reasons')):
        for reason, count in sorted((section.get(key) or {}).items()):
            out.append('')
            out.append('%s x%d: %s' % (label, count, reason))
    return '\n'.join(out) + '\n'


def plots(section, outdir):
    used = section.get('hosts_used') or {}
    if not used:
        return []
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    fig, ax = pyplot.subplots(figsize=(7, 3))
    names = list(used)
    ax.bar(range(len(names)), [used[n] for n in names])
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n.replace('compute-', '') for n in names])
    ax.set_xlabel('destination host')
    ax.set_ylabel('migrations')
    ax.set_title('%s concurrent scheduled live migrations: destinations'
                 % section.get('requests'))
    fig.tight_layout()
    path = os.path.join(outdir, 'scale-hosts-used.png')
    fig.savefig(path)
    pyplot.close(fig)
    return [path]


def _probe_main(argv):
    hosts, workdir, out = int(argv[0]), argv[1], argv[2]
    result = sql_probe(workdir, hosts, SQL_PROBE_MIGRATIONS)
    with open(out, 'w') as f:
        json.dump(result, f)
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--sql-probe':
        sys.exit(_probe_main(sys.argv[2:]))
    sys.exit('run through python -m tools.bench --only scale')

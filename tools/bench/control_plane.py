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

"""Control plane: forced live migrations between two emulated hosts.

One process holds the whole cloud (``tools/bench/cloud.py``): two
emulated computes with 4 MiB file namespaces, one server with one
namespace, migrated back and forth N times through the REST API (a
forced host, microversion 2.30, as the CLI sends it). Each migration is
timed from the request to the server ACTIVE on the destination and to
the migration 'completed', and counted: placement requests (at the
placement app), RPC calls and casts (at the ``fake://`` driver), SQL
statements (SQLAlchemy events), CPU time of the process. The series
runs twice: as shipped, then with oslo.messaging's fake listener poll
shrunk (``counters.shrink_fake_poll``).

"ACTIVE on the destination" is read from a hook, not by polling the
API: the moment ``Instance.save()`` stores the instance with the
destination host, vm_state active and no task state (what ``GET
/servers/{id}`` then shows); "completed" likewise from
``Migration.save()``. Before the next migration the bench waits until
the source's background erase has finished (the migration consumer's
allocations are deleted then), so each migration's counts hold all its
work and nothing of the next.
"""

import os
import statistics
import time

from tools.bench import cloud as bench_cloud
from tools.bench import counters

HOSTS = ('compute-a', 'compute-b')
NAMESPACE_MIB = 4
MIGRATIONS = 20
QUICK_MIGRATIONS = 4
WARMUP = 2
# The shrunk poll: 1 ms instead of the fake driver's 50 ms.
SHRUNK_POLL_S = 0.001
STEP_TIMEOUT = 60.0

# Upstream Nova 34's own functional harness, same scenario, measured
# with an outside harness on this machine on 2026-12-05 (the issue).
UPSTREAM = {
    'p50_ms': 934, 'poll_shrunk_p50_ms': 299,
    'placement_requests_per_migration': 15, 'rpc_calls_per_migration': 5,
    'rpc_casts_per_migration': 3, 'sql_writes_per_migration': 41,
    'cpu_s_per_migration': 0.398,
}

# (phase, from event, to event), consecutive: they add up to the time
# from the request to 'completed'.
PHASES = (
    ('api_to_conductor', 'request:start', 'conductor_task:start'),
    ('conductor_before_dest_check', 'conductor_task:start',
     'dest_check:start'),
    ('destination_check', 'dest_check:start', 'dest_check:end'),
    ('conductor_after_dest_check', 'dest_check:end', 'conductor_task:end'),
    ('cast_to_source', 'conductor_task:end', 'source_live_migration:start'),
    ('pre_live_migration', 'source_live_migration:start',
     'driver_live_migration:start'),
    ('driver_before_job', 'driver_live_migration:start',
     'emulated_job:start'),
    ('emulated_job', 'emulated_job:start', 'emulated_job:end'),
    ('driver_after_job', 'emulated_job:end', 'driver_live_migration:end'),
    ('post_at_destination', 'driver_live_migration:end', 'active'),
    ('active_to_completed', 'active', 'completed'),
)


class Probe:
    """The counters and hooks of one cloud."""

    def __init__(self):
        self.placement = counters.PlacementCounter()
        self.rpc = counters.RpcCounter()
        self.sql = counters.SqlCounter()
        self.timeline = counters.Timeline()
        self.dest = None          # where the current migration goes

    def install(self):
        from nova.compute import manager
        from nova.conductor.tasks import base as task_base
        from nova import objects
        from nova.virt.libvirt import driver
        from nova.virt.libvirt.emulator import migration as emulated
        self.rpc.install()
        self.sql.install()
        hook = self.timeline.hook
        hook(task_base.TaskBase, 'execute', 'conductor_task')
        for name, label in (
                ('check_can_live_migrate_destination', 'dest_check'),
                ('live_migration', 'source_live_migration'),
                ('pre_live_migration', 'pre_live_migration_at_dest'),
                ('post_live_migration_at_destination', 'post_at_dest'),
                ('_release_source', 'release_source'),
                ('_source_erased', 'source_erased')):
            hook(manager.ComputeManager, name, label)
        hook(driver.LibvirtDriver, 'live_migration', 'driver_live_migration')
        hook(emulated, 'migrate', 'emulated_job')
        self.timeline.after(objects.Instance, 'save', self._instance_saved)
        self.timeline.after(objects.Migration, 'save',
                            self._migration_saved)

    def uninstall(self):
        self.timeline.uninstall()
        self.rpc.uninstall()
        self.sql.uninstall()

    def _instance_saved(self, instance):
        def value(name):
            return (getattr(instance, name)
                    if instance.obj_attr_is_set(name) else None)
        if (self.dest is not None and value('host') == self.dest and
                value('vm_state') == 'active' and
                instance.obj_attr_is_set('task_state') and
                value('task_state') is None):
            self.timeline.mark('active', instance.uuid)

    def _migration_saved(self, migration):
        if (migration.obj_attr_is_set('status') and
                migration.status == 'completed'):
            self.timeline.mark('completed')

    def snapshot(self):
        return {'placement': self.placement.snapshot(),
                'rpc': self.rpc.snapshot(), 'sql': self.sql.snapshot(),
                'cpu_s': counters.cpu_seconds()}


def migrate_once(cloud, probe, server_id, dest):
    """One measured migration; its sample (times in ms, counts)."""
    timeline = probe.timeline
    probe.dest = dest
    before = probe.snapshot()
    t0 = time.monotonic()
    requested = timeline.mark('request:start')
    cpu_start = timeline.cpu_at('request:start', requested)
    bench_cloud.live_migrate(cloud, server_id, dest)
    timeline.mark('request:end')
    # Without the hook (the method moved) the wait ends at 'completed'.
    settled = ('completed' if any('_source_erased' in m
                                  for m in timeline.missing)
               else 'source_erased:end')
    marks = {}
    for label in ('active', 'completed', settled):
        marks[label] = timeline.wait_for(label, t0, STEP_TIMEOUT)
        if marks[label] is None:
            raise bench_cloud.BenchError(
                'no %r within %.0f s of the request to migrate %s to %s' % (
                    label, STEP_TIMEOUT, server_id, dest))
    after = probe.snapshot()
    events = timeline.since(t0)
    sample = {
        'to_active_ms': (marks['active'] - t0) * 1000.0,
        'to_completed_ms': (marks['completed'] - t0) * 1000.0,
        'to_settled_ms': (marks[settled] - t0) * 1000.0,
        # CPU of every thread of the process (services and bench alike)
        # from the request to ACTIVE.
        'cpu_to_active_ms': (timeline.cpu_at('active', marks['active']) -
                             cpu_start) * 1000.0,
        'counts': counters.delta(after, before),
        # Only what ended after the request: the interval lists grow
        # with every migration of the run.
        'phases': phase_times(events,
                              [i for i in probe.placement.intervals
                               if i[1] >= t0],
                              [i for i in probe.sql.intervals
                               if i[1] >= t0 and i[2] == 'nova']),
    }
    # What the API says, outside the counted window.
    found = bench_cloud.active_on(bench_cloud.api_client(cloud), server_id,
                                  dest)
    if found is None:
        raise bench_cloud.BenchError('server %s is not ACTIVE on %s after '
                                     'its migration' % (server_id, dest))
    return sample


def phase_times(events, placement_intervals, sql_intervals):
    """{phase: (ms, placement ms within, nova SQL statements within)}
    from the first of each event."""
    first = {}
    for label, at, _key in events:
        first.setdefault(label, at)
    spans = [(name, start, end) for name, start, end in PHASES]
    spans.append(('api_response', 'request:start', 'request:end'))
    phases = {}
    for name, start, end in spans:
        if start in first and end in first:
            a, b = first[start], first[end]
            phases[name] = (
                (b - a) * 1000.0,
                counters.overlap_ms(placement_intervals, a, b),
                sum(1 for s, _e, _db in sql_intervals if a <= s < b))
    return phases


def series(cloud, probe, server_id, hosts, count, progress, label):
    """``count`` migrations back and forth; the samples."""
    samples = []
    for index in range(count):
        here = bench_cloud.server(bench_cloud.api_client(cloud), server_id)
        source = here['OS-EXT-SRV-ATTR:host']
        dest = hosts[1] if source == hosts[0] else hosts[0]
        samples.append(migrate_once(cloud, probe, server_id, dest))
        if (index + 1) % 5 == 0 or index + 1 == count:
            progress('%s: %d/%d migrations, last %.0f ms to ACTIVE' % (
                label, index + 1, count, samples[-1]['to_active_ms']))
    return samples


def _mean(samples, get):
    return round(statistics.fmean(get(s) for s in samples), 2)


def _per_migration(samples, get_dict):
    keys = set()
    for s in samples:
        keys.update(get_dict(s))
    return {k: _mean(samples, lambda s, k=k: get_dict(s).get(k, 0))
            for k in sorted(keys) if any(get_dict(s).get(k) for s in samples)}


def summarize(samples):
    """The section's figures for one series of samples."""
    def pct(key, q):
        return round(counters.percentile([s[key] for s in samples], q), 1)

    def count(*path):
        def get(sample):
            value = sample['counts']
            for part in path:
                value = value.get(part, 0) if isinstance(value, dict) else 0
            return value
        return get

    phases = {}
    for name in [p[0] for p in PHASES] + ['api_response']:
        values = [s['phases'][name] for s in samples if name in s['phases']]
        if values:
            phases[name] = {
                'p50_ms': round(statistics.median(v[0] for v in values), 1),
                'placement_ms': round(statistics.median(
                    v[1] for v in values), 1),
                'sql_statements': round(statistics.median(
                    v[2] for v in values), 1)}
    return {
        'migrations': len(samples),
        'p50_ms': pct('to_active_ms', 50),
        'p95_ms': pct('to_active_ms', 95),
        'p50_completed_ms': pct('to_completed_ms', 50),
        'p95_completed_ms': pct('to_completed_ms', 95),
        'p50_settled_ms': pct('to_settled_ms', 50),
        'cpu_to_active_p50_ms': pct('cpu_to_active_ms', 50),
        'placement_requests_per_migration': _mean(
            samples, count('placement', 'total')),
        'placement_gets_per_migration': _mean(
            samples, count('placement', 'get')),
        'placement_writes_per_migration': _mean(
            samples, count('placement', 'write')),
        'placement_ms_per_migration': _mean(
            samples, count('placement', 'ms')),
        'placement_requests_by_pattern': _per_migration(
            samples, lambda s: s['counts']['placement']['by_pattern']),
        'rpc_messages_per_migration': _mean(samples, count('rpc', 'total')),
        'rpc_calls_per_migration': _mean(samples, count('rpc', 'calls')),
        'rpc_casts_per_migration': _mean(samples, count('rpc', 'casts')),
        'rpc_by_method': _per_migration(
            samples, lambda s: s['counts']['rpc']['by_method']),
        'notifications_per_migration': _mean(
            samples, count('rpc', 'notifications')),
        'sql_writes_per_migration': _mean(
            samples, count('sql', 'writes', 'nova')),
        'sql_statements_per_migration': _mean(
            samples, count('sql', 'statements', 'nova')),
        'sql_commits_per_migration': _mean(
            samples, count('sql', 'commits', 'nova')),
        'placement_sql_statements_per_migration': _mean(
            samples, count('sql', 'statements', 'placement')),
        'cpu_s_per_migration': round(statistics.fmean(
            s['counts']['cpu_s'] for s in samples), 4),
        'placement_cpu_s_per_migration': round(statistics.fmean(
            s['counts']['placement']['cpu_s'] for s in samples), 4),
        'phases': phases,
    }


def set_preflight(cloud, mode):
    """Set [libvirt]live_migration_preflight on every running driver (each
    keeps a snapshot of its options); False if a driver has none."""
    for host in cloud.computes:
        opts = getattr(getattr(cloud.manager(host).driver, '_conf', None),
                       'libvirt', None)
        if opts is None or not hasattr(opts, 'live_migration_preflight'):
            return False
        opts.live_migration_preflight = mode
    return True


def run(options, progress):
    count = QUICK_MIGRATIONS if options.quick else MIGRATIONS
    probe = Probe()
    progress('starting an emulated cloud: %d hosts, %d MiB namespaces' % (
        len(HOSTS), NAMESPACE_MIB))
    cloud = bench_cloud.start(options.workdir, hosts=HOSTS,
                              namespace_mib=NAMESPACE_MIB,
                              namespaces_per_host=2,
                              placement_counter=probe.placement)
    try:
        probe.install()
        api = bench_cloud.api_client(cloud)
        flavor = bench_cloud.create_flavor(api, 'bench-pmem', ram_mb=64,
                                           vpmem_count=1)
        server_id = bench_cloud.boot_on(cloud, api, flavor, HOSTS[0],
                                        'bench-cp')
        progress('server %s ACTIVE on %s; %d warm-up migrations' % (
            server_id, HOSTS[0], WARMUP))
        series(cloud, probe, server_id, HOSTS, WARMUP, progress, 'warm-up')
        shipped = series(cloud, probe, server_id, HOSTS, count, progress,
                         'as shipped')
        with counters.shrink_fake_poll(SHRUNK_POLL_S):
            shrunk = series(cloud, probe, server_id, HOSTS, count, progress,
                            'poll shrunk')
            # Not a shipped setting: shows what the pre-flight's dirty
            # rate sample costs (the rest is the same code).
            without_preflight = None
            if set_preflight(cloud, 'off'):
                without_preflight = series(
                    cloud, probe, server_id, HOSTS, count, progress,
                    'poll shrunk, pre-flight off')
        missing = list(probe.timeline.missing)
    finally:
        probe.uninstall()
        bench_cloud.stop(cloud)
    section = summarize(shipped)
    section['poll_shrunk'] = summarize(shrunk)
    section['poll_shrunk']['poll_s'] = SHRUNK_POLL_S
    if without_preflight:
        section['poll_shrunk_preflight_off'] = summarize(without_preflight)
    section.update({
        'hosts': len(HOSTS), 'namespace_mib': NAMESPACE_MIB,
        'active_from': 'Instance.save() hook (host = destination, vm_state '
                       'active, no task state)',
        'completed_from': 'Migration.save() hook (status completed)',
        'api_microversion': bench_cloud.FORCE_VERSION,
        'upstream_anchor': UPSTREAM,
    })
    if missing:
        section['hooks_missing'] = missing
    return section


# -- report ----------------------------------------------------------------

def _fmt(value, digits=1):
    if value is None:
        return '-'
    if isinstance(value, float):
        return ('%%.%df' % digits) % value
    return str(value)


def _ratio(a, b):
    return '%.2f' % (a / b) if a and b else '-'


RUNS = (('as shipped', None), ('poll shrunk', 'poll_shrunk'),
        ('poll shrunk, pre-flight off', 'poll_shrunk_preflight_off'))


def runs_of(section):
    """[(label, figures)] of the series the section holds."""
    return [(label, section if key is None else section[key])
            for label, key in RUNS if key is None or section.get(key)]


def _row(label, runs, get, upstream='-'):
    return '| %s | %s | %s |' % (label, ' | '.join(
        _fmt(get(data)) for _name, data in runs), upstream)


def markdown(section):
    runs = runs_of(section)
    up = section.get('upstream_anchor', UPSTREAM)
    shrunk = section.get('poll_shrunk', {})
    head = ' | '.join(name for name, _data in runs)
    rule = '|'.join(['---'] * (len(runs) + 2))
    lines = [
        '%d forced live migrations through the API per series, %d '
        'emulated hosts, a %d MiB namespace; counts are per migration. '
        'Upstream: Nova 34\'s functional harness, 2026-12-05, outside '
        'harness (as shipped / poll shrunk). p50 to ACTIVE over upstream\'s: '
        '%s as shipped, %s poll shrunk.' % (
            section['migrations'], section['hosts'],
            section['namespace_mib'],
            _ratio(section['p50_ms'], up['p50_ms']),
            _ratio(shrunk.get('p50_ms'), up['poll_shrunk_p50_ms'])),
        '',
        '| control plane | %s | upstream |' % head,
        '|%s|' % rule,
        _row('to ACTIVE p50 (ms)', runs, lambda d: d['p50_ms'],
             '%s / %s' % (up['p50_ms'], up['poll_shrunk_p50_ms'])),
        _row('to ACTIVE p95 (ms)', runs, lambda d: d['p95_ms']),
        _row('CPU to ACTIVE p50 (ms, all threads)', runs,
             lambda d: d.get('cpu_to_active_p50_ms')),
        _row('to completed p50 (ms)', runs, lambda d: d['p50_completed_ms']),
        _row('to completed p95 (ms)', runs, lambda d: d['p95_completed_ms']),
        _row('POST os-migrateLive answered, p50 (ms)', runs,
             lambda d: d['phases'].get('api_response', {}).get('p50_ms')),
        _row('placement requests', runs,
             lambda d: d['placement_requests_per_migration'],
             up['placement_requests_per_migration']),
        _row('placement GET / writes', runs, lambda d: '%s / %s' % (
            _fmt(d['placement_gets_per_migration']),
            _fmt(d['placement_writes_per_migration']))),
        _row('RPC calls + casts', runs, lambda d: '%s + %s' % (
            _fmt(d['rpc_calls_per_migration']),
            _fmt(d['rpc_casts_per_migration'])), '%s + %s' % (
            up['rpc_calls_per_migration'], up['rpc_casts_per_migration'])),
        _row('nova SQL writes', runs, lambda d: d['sql_writes_per_migration'],
             up['sql_writes_per_migration']),
        _row('nova SQL statements (commits)', runs, lambda d: '%s (%s)' % (
            _fmt(d['sql_statements_per_migration']),
            _fmt(d.get('sql_commits_per_migration')))),
        _row('CPU s per migration (in placement)', runs,
             lambda d: '%.3f (%.3f)' % (
                 d['cpu_s_per_migration'],
                 d.get('placement_cpu_s_per_migration') or 0),
             up['cpu_s_per_migration']),
        '',
        '| phase, p50 ms (placement ms; nova SQL statements within) '
        '| %s |' % head,
        '|%s|' % '|'.join(['---'] * (len(runs) + 1)),
    ]
    for name in [p[0] for p in PHASES]:
        cells = []
        for _label, data in runs:
            phase = data.get('phases', {}).get(name)
            cells.append('%s (%s; %s)' % (
                _fmt(phase['p50_ms']), _fmt(phase['placement_ms']),
                _fmt(phase.get('sql_statements'), 0)) if phase else '-')
        lines.append('| %s | %s |' % (name.replace('_', ' '),
                                      ' | '.join(cells)))
    lines += ['', '| placement request, as shipped | per migration |',
              '|---|---|']
    lines += ['| `%s` | %s |' % (k, _fmt(v)) for k, v in
              section['placement_requests_by_pattern'].items()]
    lines += ['', '| RPC message, as shipped | per migration |',
              '|---|---|']
    lines += ['| `%s` | %s |' % (k, _fmt(v)) for k, v in
              section['rpc_by_method'].items()]
    return '\n'.join(lines)


def plots(section, outdir):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    runs = runs_of(section)
    names = [p[0] for p in PHASES]
    figure, axes = pyplot.subplots(figsize=(9, 1.4 + 0.8 * len(runs)))
    for row, (_label, data) in enumerate(runs):
        left = 0.0
        for index, name in enumerate(names):
            width = data.get('phases', {}).get(name, {}).get('p50_ms', 0)
            axes.barh(row, width, left=left, color=pyplot.cm.tab20(index),
                      label=name.replace('_', ' ') if row == 0 else None)
            left += width
    axes.set_yticks(range(len(runs)), [r[0] for r in runs])
    axes.set_xlabel('ms from the API request (p50 of each phase)')
    axes.set_title('Forced live migration, emulated hosts: phases')
    axes.legend(fontsize=6, ncol=3, loc='upper right')
    figure.tight_layout()
    path = os.path.join(outdir, 'control_plane_phases.png')
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return [path]

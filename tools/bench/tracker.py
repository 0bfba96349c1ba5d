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

"""The cost of the resource tracker's periodic update.

Times ``ComputeManager.update_available_resource`` (what the periodic
task runs) of one emulated host as its namespaces grow, and as the
``error`` migrations of the host pile up; with the real DB layer (SQLite
file), the real placement served over HTTP in-process, the real driver on
an emulated libvirt host with file namespaces. It also counts the SQL
statements and placement requests of one update: those, not the times,
say whether the work grows with the host.

The measurement runs in a child process (``python tracker.py --worker``):
it configures nova's global state (options, database engine, messaging)
for itself, which must not leak into the other bench parts.
Its section is merged into the ``scale`` section of the bench JSON.
"""

import argparse
import collections
import cProfile
import json
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

NAMESPACES = (8, 16, 32, 64, 128, 256, 512, 1024)
NAMESPACES_QUICK = (8, 32, 128)
ERROR_MIGRATIONS = (0, 100, 1000)
ERROR_MIGRATIONS_QUICK = (0, 100)
# Namespaces of the host the error migrations are measured on.
ERROR_HOST_NAMESPACES = 64
# Part of a host's namespaces held by instances (one each), as on the
# scale bench's hosts: held ones cost more (their instances are read).
HELD_FRACTION = 0.5
RUNS = 5
RUNS_QUICK = 3
# A slope of log(ms) over log(n) within this of 1 is "linear".
LINEAR_TOLERANCE = 0.15
WORKER_TIMEOUT = 1800


# -- the bench contract ----------------------------------------------------

def run(options, progress):
    """Measure in a child process; return the section (plain JSON)."""
    quick = bool(getattr(options, 'quick', False))
    workdir = tempfile.mkdtemp(prefix='bench-tracker-',
                               dir=getattr(options, 'workdir', None))
    out = os.path.join(workdir, 'tracker.json')
    command = [sys.executable, os.path.abspath(__file__), '--worker',
               '--state-dir', os.path.join(workdir, 'state'), '--out', out]
    if quick:
        command.append('--quick')
    child = subprocess.Popen(command, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    tail = []
    for line in child.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-20:]
        if line.startswith('progress: '):
            progress('tracker: ' + line[len('progress: '):])
    if child.wait(timeout=WORKER_TIMEOUT) != 0 or not os.path.exists(out):
        # The framework files a skipped part as scale.tracker_skipped.
        return {'skipped': 'the tracker bench worker exited %s'
                % child.returncode, 'error': ' | '.join(tail[-3:])}
    with open(out) as f:
        section = json.load(f)
    shutil.rmtree(workdir, ignore_errors=True)
    return section


def markdown(section):
    """A table: namespaces -> ms, SQL statements, placement requests."""
    if not section.get('rt_update_ms'):
        return 'Resource tracker update: not measured.\n'
    lines = ['Resource tracker periodic update (one emulated host, half '
             'of its namespaces held by instances, median of %d runs):'
             % section.get('rt_update_runs', 0), '',
             '| namespaces | update ms | CPU ms | SQL statements | '
             'placement requests |', '|---:|---:|---:|---:|---:|']
    cpu = section.get('rt_update_cpu_ms', {})
    sql = section.get('rt_update_sql_statements', {})
    requests = section.get('rt_update_placement_requests', {})
    for n, ms in _by_number(section['rt_update_ms']):
        lines.append('| %s | %.1f | %s | %s | %s |' % (
            n, ms, _ms(cpu.get(str(n))), sql.get(str(n), '-'),
            requests.get(str(n), '-')))
    for key, what in (('rt_update_growth', 'wall'),
                      ('rt_update_cpu_growth', 'CPU')):
        fitted = section.get(key)
        if fitted:
            lines += ['', 'Growth of the %s time over the upper half: slope '
                      '%.2f of log(ms) vs log(namespaces): %s; %.3f ms '
                      'per namespace between the two largest sizes.'
                      % (what, fitted['slope'], fitted['order'],
                         fitted.get('ms_per_namespace_at_top', 0))]
    errors = section.get('rt_update_error_migrations_ms')
    if errors:
        error_cpu = section.get('rt_update_error_migrations_cpu_ms', {})
        error_sql = section.get('rt_update_error_migrations_sql_statements',
                                {})
        lines += ['', '`error` migrations of the host (%d namespaces):'
                  % ERROR_HOST_NAMESPACES, '',
                  '| error migrations | update ms | CPU ms | SQL '
                  'statements |', '|---:|---:|---:|---:|']
        for n, ms in _by_number(errors):
            lines.append('| %s | %.1f | %s | %s |' % (
                n, ms, _ms(error_cpu.get(str(n))),
                error_sql.get(str(n), '-')))
    return '\n'.join(lines) + '\n'


def plots(section, outdir):
    """The update time vs namespaces per host, log-log; [] if unmeasured."""
    points = _by_number(section.get('rt_update_ms') or {})
    if len(points) < 2:
        return []
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    xs = [n for n, _ms in points]
    ys = [ms for _n, ms in points]
    figure, axes = pyplot.subplots(figsize=(6, 4))
    axes.loglog(xs, ys, 'o-', base=2, label='wall time (median)')
    cpu = _by_number(section.get('rt_update_cpu_ms') or {})
    if cpu:
        axes.loglog([n for n, _ms in cpu], [ms for _n, ms in cpu], 's--',
                    base=2, label='CPU time of the process (median)')
    # A linear reference through the largest point shows the goal.
    axes.loglog(xs, [ys[-1] * n / xs[-1] for n in xs], ':', base=2,
                color='grey', label='linear (reference)')
    axes.set_xlabel('namespaces per host')
    axes.set_ylabel('ms per update')
    axes.set_title('Resource tracker periodic update '
                   '(update_available_resource)')
    axes.grid(True, which='both', alpha=0.3)
    axes.legend()
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, 'rt_update.png')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return [path]


# -- pure helpers ------------------------------------------------------------

def _ms(value):
    return '-' if value is None else '%.1f' % value


def _by_number(mapping):
    return sorted((int(n), value) for n, value in mapping.items())


def growth(ms_by_n):
    """Fitted order of ``{n: ms}`` over its upper half.

    The least-squares slope of log(ms) against log(n) over the larger half
    of the sizes (the small ones are dominated by the fixed cost), and a
    word for it. None with fewer than two points.
    """
    points = _by_number(ms_by_n)
    upper = points[len(points) // 2 - (1 if len(points) % 2 == 0 else 0):]
    upper = [(n, ms) for n, ms in upper if ms > 0]
    if len(upper) < 2:
        return None
    xs = [math.log(n) for n, _ms in upper]
    ys = [math.log(ms) for _n, ms in upper]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y)
                for x, y in zip(xs, ys, strict=True)) / spread
    if slope > 1 + LINEAR_TOLERANCE:
        order = 'superlinear'
    elif slope < 1 - LINEAR_TOLERANCE:
        order = 'sublinear'
    else:
        order = 'linear'
    # What one more namespace costs at the top of the curve.
    (n1, ms1), (n2, ms2) = upper[-2:]
    return {'slope': round(slope, 3), 'order': order,
            'fitted_sizes': [n for n, _ms in upper],
            'ms_per_namespace_at_top': round((ms2 - ms1) / (n2 - n1), 4)}


# -- the worker (child process) ----------------------------------------------

class Measure(collections.namedtuple('Measure',
                                     'ms cpu_ms sql placement')):
    """One size's medians (wall and CPU ms) and per-update counts."""

    def __str__(self):
        return ('%.1f ms (CPU %.1f ms), %d SQL statements, %d placement '
                'requests' % self)


class _Counters:
    """SQL statements of nova's database and requests to placement."""

    def __init__(self):
        self.sql = 0
        self.placement = 0

    def count_sql(self, *args, **kwargs):
        self.sql += 1

    def wrap_app(self, app):
        def counted(environ, start_response):
            self.placement += 1
            return app(environ, start_response)
        return counted


class _Worker:

    def __init__(self, state_dir, quick, profile_dir=None):
        self.state_dir = os.path.abspath(state_dir)
        self.quick = quick
        self.runs = RUNS_QUICK if quick else RUNS
        self.profile_dir = profile_dir
        self.counters = _Counters()
        self.placement = None

    def say(self, text):
        print('progress: %s' % text, flush=True)

    def start(self):
        from nova.aio import cloud
        from nova.db import engine as db_engine
        from nova.db import migration as db_migration
        from nova.embedded import placement as embedded_placement
        from nova import objects
        from nova import rpc
        from nova.scheduler.client import report
        from nova import service
        import sqlalchemy as sa

        self.cloud = cloud
        cloud.init_process(self.state_dir)
        cloud._apply({
            (None, 'transport_url'): 'fake://',
            (None, 'state_path'): self.state_dir,
            ('database', 'connection'): 'sqlite:///%s' % os.path.join(
                self.state_dir, 'nova.sqlite'),
        })
        rpc.init(cloud.CONF)
        objects.register_all()
        db_migration.db_sync()
        sa.event.listen(db_engine.get_engine(), 'before_cursor_execute',
                        self.counters.count_sql)
        app = embedded_placement.make_app('sqlite:///%s' % os.path.join(
            self.state_dir, 'placement.sqlite'))
        self.placement = service.WSGIService(
            'placement', self.counters.wrap_app(app), '127.0.0.1', 0)
        self.placement.start()
        report.configure_token_auth(
            cloud.CONF, embedded_placement.endpoint(self.placement),
            embedded_placement.ADMIN_TOKEN)
        self.say('placement %s' % embedded_placement.endpoint(
            self.placement))

    def stop(self):
        from nova import rpc
        if self.placement is not None:
            self.placement.stop()
        if rpc.initialized():
            rpc.cleanup()

    def compute(self, host, namespaces):
        """A started nova-compute for ``host`` without periodic tasks."""
        from nova import service
        options = self.cloud.CloudOptions(state_dir=self.state_dir,
                                          namespace_mib=4,
                                          namespaces_per_host=namespaces,
                                          hosts=(host,))
        overrides = self.cloud.compute_overrides(
            options, host, self.cloud.emulated_overrides(options, host))
        if 'pmem_file_preallocate' in self.cloud.CONF.libvirt:
            # Sparse files: 1,024 allocated ones would take 4 GiB of disk
            # for nothing this bench looks at.
            overrides[('libvirt', 'pmem_file_preallocate')] = False
        self.cloud._apply(overrides)
        svc = service.Service.create('nova-compute', host=host,
                                     periodic_enable=False)
        # What is new to the host is erased at start; that erase is the
        # erase bench's subject, not this one's: skip its I/O here.
        svc.manager.driver.erase_vpmems = lambda context, resources: list(
            resources)
        svc.start()
        self._fill(svc, host, int(namespaces * HELD_FRACTION))
        return svc

    def _fill(self, svc, host, count):
        """``count`` instances on ``host``, each holding one namespace.

        Claimed through the tracker as a build does (the placement side
        of a build is the control plane bench's subject).
        """
        import uuid

        from nova import context as nova_context
        from nova import objects
        context = nova_context.get_admin_context()
        flavor = self._flavor(context)
        rt = svc.manager.rt
        node = rt.compute_nodes[host]
        rc = self.cloud.RESOURCE_CLASS
        for _ in range(count):
            instance = objects.Instance(
                context, uuid=str(uuid.uuid4()), user_id='bench',
                project_id='bench', flavor=flavor, vm_state='active',
                host=None, node=None)
            instance.create()
            rt.instance_claim(context, instance, host,
                              {node.uuid: {'resources': {rc: 1}}})

    def measure(self, svc, label):
        """Median ms of the periodic update, and its SQL/placement counts."""
        from nova import context as nova_context
        context = nova_context.get_admin_context()
        manager = svc.manager
        manager.update_available_resource(context)  # warm caches
        times, cpu = [], []
        sql = placement = None
        for _ in range(self.runs):
            before = (self.counters.sql, self.counters.placement)
            started = time.perf_counter(), time.process_time()
            manager.update_available_resource(context)
            times.append((time.perf_counter() - started[0]) * 1000)
            # This process's CPU, placement's serving included: steadier
            # than wall time on a shared machine.
            cpu.append((time.process_time() - started[1]) * 1000)
            sql = self.counters.sql - before[0]
            placement = self.counters.placement - before[1]
        if self.profile_dir:
            profiler = cProfile.Profile()
            profiler.runcall(manager.update_available_resource, context)
            path = os.path.join(self.profile_dir, '%s.txt' % label)
            with open(path, 'w') as f:
                stats = pstats.Stats(profiler, stream=f)
                stats.sort_stats('cumulative').print_stats(45)
                stats.sort_stats('tottime').print_stats(25)
        return Measure(round(statistics.median(times), 2),
                       round(statistics.median(cpu), 2), sql, placement)

    def namespaces_curve(self, sizes):
        """{str(n): Measure} as namespaces per host grow."""
        measures = {}
        for n in sizes:
            svc = self.compute('rt-ns-%d' % n, n)
            try:
                measures[str(n)] = self.measure(svc, 'namespaces-%d' % n)
            finally:
                self._stop(svc)
            self.say('%d namespaces: %s' % (n, measures[str(n)]))
        return measures

    def error_migrations_curve(self, counts):
        """{str(n): Measure} as settled 'error' migrations pile up."""
        host = 'rt-errors'
        svc = self.compute(host, ERROR_HOST_NAMESPACES)
        measures = {}
        made = 0
        try:
            for n in counts:
                made += self._add_error_migrations(host, n - made)
                measures[str(n)] = self.measure(
                    svc, 'error-migrations-%d' % n)
                self.say('%d error migrations: %s' % (n, measures[str(n)]))
        finally:
            self._stop(svc)
        return measures

    def _stop(self, svc):
        """Stop a compute and remove its namespace files."""
        svc.stop()
        svc.wait(timeout=20)
        shutil.rmtree(os.path.join(self.state_dir, 'pmem', svc.host),
                      ignore_errors=True)

    def _add_error_migrations(self, host, count):
        """``count`` settled live migrations in 'error' from ``host``.

        Each of its own (deleted-since) instance, as a host's history
        holds them: nothing of them is quarantined or held any more.
        """
        import uuid

        from nova import context as nova_context
        from nova import objects
        context = nova_context.get_admin_context()
        flavor = self._flavor(context)
        for _ in range(count):
            instance = objects.Instance(
                context, uuid=str(uuid.uuid4()), user_id='bench',
                project_id='bench', flavor=flavor, vm_state='active',
                host=host, node=host)
            instance.create()
            objects.Migration(
                context, instance_uuid=instance.uuid, source_compute=host,
                source_node=host, dest_compute='elsewhere',
                dest_node='elsewhere', migration_type='live-migration',
                status='error').create()
            instance.host = 'elsewhere'
            instance.node = 'elsewhere'
            instance.save()
        return count

    def _flavor(self, context):
        from nova import exception
        from nova import objects
        try:
            return objects.Flavor.get_by_name(context, 'bench-tracker')
        except exception.NotFound:
            flavor = objects.Flavor(
                context, name='bench-tracker', flavorid='bench-tracker',
                memory_mb=128, vcpus=1, root_gb=0, ephemeral_gb=0, swap=0,
                disabled=False, is_public=True, extra_specs={})
            flavor.create()
            return flavor


def _work(args):
    worker = _Worker(args.state_dir, args.quick, args.profile)
    worker.start()
    try:
        sizes = NAMESPACES_QUICK if args.quick else NAMESPACES
        counts = ERROR_MIGRATIONS_QUICK if args.quick else ERROR_MIGRATIONS
        if args.sizes:
            sizes = [int(n) for n in args.sizes.split(',')]
        if args.errors is not None:
            counts = [int(n) for n in args.errors.split(',') if n]
        curve = worker.namespaces_curve(sizes)
        errors = worker.error_migrations_curve(counts)
    finally:
        worker.stop()

    def column(measures, field):
        return {n: getattr(m, field) for n, m in measures.items()}

    section = {
        'rt_update_ms': column(curve, 'ms'),
        'rt_update_growth': growth(column(curve, 'ms')),
        'rt_update_cpu_ms': column(curve, 'cpu_ms'),
        'rt_update_cpu_growth': growth(column(curve, 'cpu_ms')),
        'rt_update_sql_statements': column(curve, 'sql'),
        'rt_update_placement_requests': column(curve, 'placement'),
        'rt_update_error_migrations_ms': column(errors, 'ms'),
        'rt_update_error_migrations_cpu_ms': column(errors, 'cpu_ms'),
        'rt_update_error_migrations_sql_statements': column(errors, 'sql'),
        'rt_update_runs': worker.runs,
        'rt_update_held_fraction': HELD_FRACTION,
    }
    with open(args.out, 'w') as f:
        json.dump(section, f, indent=2, sort_keys=True)
    return section


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--worker', action='store_true',
                        help='measure here (the bench runs this itself)')
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--state-dir', default=None)
    parser.add_argument('--out', default=None)
    parser.add_argument('--sizes', default=None,
                        help='namespaces per host, comma separated')
    parser.add_argument('--errors', default=None,
                        help='error migration counts, comma separated')
    parser.add_argument('--profile', default=None, metavar='DIR',
                        help='write a cProfile of one update per size here')
    args = parser.parse_args(argv)
    if args.worker:
        args.state_dir = args.state_dir or tempfile.mkdtemp(
            prefix='bench-tracker-')
        args.out = args.out or os.path.join(args.state_dir, 'tracker.json')
        if args.profile:
            os.makedirs(args.profile, exist_ok=True)
        print(json.dumps(_work(args), indent=2, sort_keys=True))
        return 0
    section = run(argparse.Namespace(quick=args.quick, workdir=None,
                                     out_dir=None), print)
    print(markdown(section))
    return 0


if __name__ == '__main__':
    sys.exit(main())

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

"""``nova-aio demo``: live-migrate a vpmem server and prove it.

The story, as a user of the cloud would tell it: create a flavor with
``hw:pmem``, boot a server on compute-a, write a known pattern into its
namespaces, start a writer in the guest, live-migrate the server to
compute-b through the API while the writer dirties pages, then ask every
owner of state whether the move held (``checks``). The terminal shows the
story; the services log into the state directory.
"""

import dataclasses
import os
import shutil
import time

from rich import markup as rich_markup
from rich import progress as rich_progress
from rich import table as rich_table

from nova.aio import checks
from nova.aio import cloud as aio_cloud
from nova.aio import give_up
from nova.aio import guests
from nova.aio import http
from nova.aio import prediction
from nova.aio import real_hosts
from nova.aio import state as aio_state
from nova import objects
from nova.virt.libvirt import emulator

FLAVOR = 'aio-pmem'
SERVER = 'aio-vm'
TIMEOUT = 120           # boot and other steps, not the migration
FINAL_STATUSES = give_up.FINAL_STATUSES
MiB = 1 << 20


@dataclasses.dataclass
class DemoOptions:
    state_dir: str
    vpmem_mib: int = 64
    vpmem_count: int = 2
    bandwidth_mib: int = 64
    dirty_pages_per_second: int = 1024
    ram_mb: int = 64
    hypervisor: str = 'emulated'
    completion_timeout: int = None   # s per GiB; None: the option default


class DemoError(Exception):
    """A step of the story failed; the message names it."""


class GaveUp(Exception):
    """The migration outlived the product's budget (and the grace)."""

    def __init__(self, row, waited):
        super().__init__('the migration still ran after %.0f s (status '
                         '%s)' % (waited, row['status'] if row else
                                  'requested'))
        self.row = row
        self.waited = waited


@dataclasses.dataclass
class GiveUpOutcome:
    """What the demo found after it aborted the migration."""

    source: str
    dest: str
    budget: float
    waited: float
    advice: str
    abort_note: str
    cleanup: give_up.Cleanup

    def checks(self):
        budget = checks.Check(
            give_up.WITHIN_BUDGET, False,
            'still running after %.0f s (the compute host\'s budget is '
            '%.1f s); aborted through the API: %s. What to do: %s' % (
                self.waited, self.budget, self.abort_note, self.advice))
        return [budget] + give_up.cleanup_checks(self.cleanup, self.source,
                                                 self.dest)


def fresh_state_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def _wait(what, predicate, timeout=TIMEOUT, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DemoError('timed out waiting for %s' % what)
        time.sleep(interval)


def create_flavor(api, options):
    api.post('/flavors', {'flavor': {
        'name': FLAVOR, 'id': FLAVOR, 'ram': options.ram_mb, 'vcpus': 1,
        'disk': 0}})
    pmem = ','.join([aio_cloud.LABEL] * options.vpmem_count)
    api.post('/flavors/%s/os-extra_specs' % FLAVOR,
             {'extra_specs': {'hw:pmem': pmem}})
    return pmem


def _set_disabled(ctxt, host, disabled):
    svc = objects.Service.get_by_compute_host(ctxt, host)
    svc.disabled = disabled
    svc.save()


def boot_on(cloud, api, host, image):
    """Boot the server with the other hosts disabled, so it lands on host."""
    ctxt = cloud.admin_context()
    others = [h for h in cloud.computes if h != host]
    for other in others:
        _set_disabled(ctxt, other, True)
    try:
        created = api.post('/servers', {'server': {
            'name': SERVER, 'flavorRef': FLAVOR, 'imageRef': image,
            'networks': 'none'}})['server']
        server = _wait('the server to become ACTIVE',
                       lambda: _active(api, created['id']))
    finally:
        for other in others:
            _set_disabled(ctxt, other, False)
    return server


def _active(api, server_id):
    server = api.get('/servers/%s' % server_id)['server']
    if server['status'] == 'ERROR':
        raise DemoError('the server went to ERROR: %s' %
                        (server.get('fault') or {}).get('message'))
    return server if server['status'] == 'ACTIVE' else None


def instance_resources(cloud, server_id):
    instance = objects.Instance.get_by_uuid(
        cloud.admin_context(), server_id, expected_attrs=['resources'])
    return instance, list(instance.resources or [])


def migration_of(api, server_id):
    rows = api.get('/os-migrations?instance_uuid=%s' %
                   server_id)['migrations']
    return rows[0] if rows else None


class MigrationWatch:
    """Follows the migration: API status, libvirt job stats, a bar."""

    def __init__(self, api, server_id, source_dom):
        self.api = api
        self.server_id = server_id
        self.source_dom = source_dom
        self.last_stats = {}
        self.max_iteration = 0

    def poll_stats(self):
        try:
            stats = self.source_dom.jobStats()
        except emulator.libvirtError:
            return None      # the guest left: the job is over
        except Exception:
            return None
        if stats.get('memory_total') is not None:
            self.last_stats = stats
            self.max_iteration = max(self.max_iteration,
                                     stats.get('memory_iteration', 0))
        return stats

    def run(self, console, give_up_after=None):
        """Follow the migration to a final status; GaveUp after
        ``give_up_after`` seconds (None: wait as long as it runs)."""
        columns = [
            rich_progress.TextColumn('[bold]live migration'),
            rich_progress.BarColumn(),
            rich_progress.DownloadColumn(binary_units=True),
            rich_progress.TextColumn('{task.fields[detail]}'),
            rich_progress.TimeElapsedColumn(),
        ]
        with rich_progress.Progress(*columns, console=console,
                                    transient=False) as bar:
            task = bar.add_task('migrate', total=None, detail='queued')
            began = time.monotonic()
            while True:
                row = migration_of(self.api, self.server_id)
                status = row['status'] if row else 'requested'
                stats = self.poll_stats() or {}
                processed = stats.get('memory_processed')
                remaining = stats.get('memory_remaining')
                if processed is not None and remaining is not None:
                    bar.update(task, completed=processed,
                               total=processed + remaining,
                               detail='iteration %d, %s left, %s/s, %s' % (
                                   stats.get('memory_iteration', 0),
                                   checks.human_bytes(remaining),
                                   checks.human_bytes(
                                       stats.get('memory_bps', 0)),
                                   status))
                else:
                    bar.update(task, detail=status)
                if status in FINAL_STATUSES:
                    if status == 'completed':
                        moved = self.last_stats.get('memory_processed', 0)
                        bar.update(task, completed=moved, total=moved,
                                   detail='iteration %d, done' %
                                   self.max_iteration)
                    return row
                waited = time.monotonic() - began
                if give_up_after is not None and waited > give_up_after:
                    raise GaveUp(row, waited)
                time.sleep(0.1)


def completed_job(dest_dom):
    """The destination's completed-job stats (libvirt keeps them)."""
    flags = (emulator.VIR_DOMAIN_JOB_STATS_COMPLETED |
             emulator.VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED)
    try:
        stats = dest_dom.jobStats(flags)
    except Exception:
        return {}
    return stats if stats.get('type') == emulator.VIR_DOMAIN_JOB_COMPLETED \
        else {}


def gather_hosts(cloud, placement, source, source_namespaces):
    return {host: aio_state.host_state(
        cloud, placement, host,
        check_zero=source_namespaces if host == source else ())
        for host in cloud.computes}


def settle(cloud, placement, facts, timeout=10):
    """Gather host states until the checks hold or ``timeout`` passes.

    The source gives its namespaces up after the migration completed
    (erase, then release): the report waits for that, not forever.
    """
    deadline = time.monotonic() + timeout
    while True:
        facts.hosts = gather_hosts(cloud, placement, facts.source,
                                   facts.source_namespaces)
        if not checks.failed(checks.evaluate(facts)) or \
                time.monotonic() > deadline:
            return facts
        time.sleep(0.2)


def story(cloud, console, options, guest, source='compute-a',
          dest='compute-b'):
    """Everything after the cloud started; returns MigrationFacts, or a
    GiveUpOutcome when the migration outlived the product's budget."""
    api = http.compute_client(cloud.api_endpoint)
    placement = http.placement_client(cloud.placement_endpoint)

    pmem = create_flavor(api, options)
    console.print('flavor [bold]%s[/]: %d vCPU, %d MiB RAM, hw:pmem=%s' % (
        FLAVOR, 1, options.ram_mb, pmem))
    server = boot_on(cloud, api, source, guest.image)
    server_id = server['id']
    instance, resources = instance_resources(cloud, server_id)
    if instance.host != source:
        raise DemoError('the server booted on %s, not %s' %
                        (instance.host, source))
    source_namespaces = [r.identifier for r in resources]
    source_paths = [r.metadata.devpath for r in resources]
    console.print('server [bold]%s[/] %s ACTIVE on %s with namespaces %s'
                  % (SERVER, server_id, source, ', '.join(source_namespaces)))
    guest.prepare(console, server_id, source, source_paths)
    time.sleep(0.3)

    source_dom = guest.open(cloud.connection_uri(source)) \
        .lookupByUUIDString(server_id)
    vpmem_bytes = options.vpmem_mib * options.vpmem_count * MiB
    budget = give_up.product_budget(aio_cloud.CONF, options.ram_mb,
                                    vpmem_bytes)
    limit = give_up.give_up_after(budget)
    console.print(
        'the compute host allows %s; the demo gives up %s' % (
            '%.1f s' % budget if budget else 'unlimited time',
            'after %.1f s' % limit if limit else 'never'), highlight=False)
    dirty_rate = guest.dirty_rate()
    console.print('the guest dirties %s/s of its vpmem' %
                  checks.human_bytes(dirty_rate), highlight=False)
    estimate = prediction.predict(aio_cloud.CONF, options.ram_mb,
                                  vpmem_bytes, dirty_rate, budget)
    console.print('prediction (pre-flight estimator): %s' % estimate.text,
                  highlight=False, markup=False, soft_wrap=True)
    guest.migration_starts()
    started = time.monotonic()
    http.compute_client(cloud.api_endpoint, '2.30').post(
        '/servers/%s/action' % server_id,
        {'os-migrateLive': {'host': dest, 'block_migration': 'auto'}})
    console.print('POST /servers/%s/action os-migrateLive host=%s' % (
        server_id, dest))
    watch = MigrationWatch(api, server_id, source_dom)
    try:
        row = watch.run(console, give_up_after=limit)
    except GaveUp as exc:
        outcome = abort_and_clean(cloud, api, placement, console, options,
                                  server_id, exc, budget, source, dest)
        if outcome is not None:
            return outcome
        # It ended between the give-up and the abort: report as usual.
        row = migration_of(api, server_id)
    elapsed = time.monotonic() - started

    job = {}
    if row['status'] == 'completed':
        job = completed_job(guest.open(cloud.connection_uri(dest))
                            .lookupByUUIDString(server_id))
    server = api.get('/servers/%s' % server_id)['server']
    _instance, now_resources = instance_resources(cloud, server_id)
    dest_resources = [r for r in now_resources
                      if r.provider_uuid != resources[0].provider_uuid]
    dest_paths = [r.metadata.devpath for r in dest_resources]

    facts = checks.MigrationFacts(
        source=source, dest=dest, status=row['status'],
        instance_host=server.get('OS-EXT-SRV-ATTR:host'),
        source_namespaces=source_namespaces,
        dest_namespaces=[r.identifier for r in dest_resources],
        elapsed=elapsed,
        bytes_moved=job.get('memory_processed',
                            watch.last_stats.get('memory_processed', 0)),
        downtime_ms=job.get('downtime', 0),
        iterations=job.get('memory_iteration', watch.max_iteration),
        prediction=prediction.compare(estimate, elapsed),
        **guest.content_facts(row['status'] == 'completed', dest_paths))
    return settle(cloud, placement, facts)


def abort_and_clean(cloud, api, placement, console, options, server_id,
                    gave_up, budget, source, dest):
    """Abort through the API and wait for the cleanup; a GiveUpOutcome,
    or None when the migration finished before the abort could land."""
    row = gave_up.row or migration_of(api, server_id)
    if row is None:
        raise DemoError('the migration never appeared in the API after '
                        '%.0f s' % gave_up.waited)
    console.print('[red]giving up[/]: %s; DELETE /servers/%s/migrations/%s'
                  % (rich_markup.escape(str(gave_up)), server_id,
                     row['id']), highlight=False)
    try:
        give_up.abort(api, server_id, row['id'])
        note = 'the API accepted the abort'
    except give_up.AbortRefused as exc:
        now = migration_of(api, server_id)
        if now is not None and now['status'] == 'completed':
            return None
        note = 'the API refused the abort (%s)' % exc
    console.print('waiting for the cloud to clean up (at most %d s)'
                  % give_up.CLEANUP_TIMEOUT)
    cleanup = give_up.wait_for_cleanup(
        lambda: give_up.look(cloud, api, placement, server_id, row, dest),
        source, dest)
    if cleanup.migration_status == 'completed':
        return None
    return GiveUpOutcome(
        source=source, dest=dest, budget=budget, waited=gave_up.waited,
        advice=give_up.advice(options.bandwidth_mib,
                              options.dirty_pages_per_second),
        abort_note=note, cleanup=cleanup)


def host_table(facts):
    table = rich_table.Table(title='hosts after the migration')
    for column in ('host', 'placement usage', 'resource tracker',
                   'database', 'namespaces read back'):
        table.add_column(column)
    for name in sorted(facts.hosts):
        state = facts.hosts[name]
        zeros = ', '.join('%s %s' % (n, 'zeros' if z else 'DATA')
                          for n, z in sorted(state.zeroed.items()))
        table.add_row(name, str(state.placement_usage),
                      ' '.join(state.rt_assigned) or '-',
                      ' '.join(state.db_assigned) or '-', zeros or '-')
    return table


def check_table(results):
    table = rich_table.Table(title='checks')
    table.add_column('check')
    table.add_column('result')
    table.add_column('detail', overflow='fold')
    for check in results:
        table.add_row(check.name, '[green]verified[/]' if check.ok
                      else '[red]FAILED[/]', rich_markup.escape(check.detail))
    return table


def summary_table(facts):
    table = rich_table.Table(title='live migration', show_header=False)
    table.add_column('what')
    table.add_column('value')
    for label, value in checks.summary_rows(facts):
        table.add_row(label, value)
    return table


def report(console, facts):
    """Print the report; return the failed checks."""
    if isinstance(facts, GiveUpOutcome):
        results = facts.checks()
    else:
        results = checks.evaluate(facts)
        console.print(summary_table(facts))
        console.print(host_table(facts))
    console.print(check_table(results))
    if isinstance(facts, GiveUpOutcome):
        console.print('what to do: %s' % facts.advice, highlight=False,
                      soft_wrap=True, markup=False)
    for check in results:
        # One plain line per check, for scripts and tests to read.
        console.print('%s: %s' % ('verified' if check.ok else 'FAILED',
                                  check.name), highlight=False)
    return checks.failed(results)


def _start_hosts(options, console):
    """Real local hosts for --hypervisor libvirt, else None (emulated)."""
    if options.hypervisor != 'libvirt':
        return None
    console.print('starting two local libvirt hosts (session libvirtd)')
    return real_hosts.RealHosts(
        options.state_dir, aio_cloud.HOSTS,
        pages_per_second=options.dirty_pages_per_second or None).start()


def run(options, console):
    """The whole demo; returns the exit status (0: every check held)."""
    fresh_state_dir(options.state_dir)
    aio_cloud.init_process(options.state_dir)
    log_file = os.path.join(options.state_dir, aio_cloud.LOG_FILE)
    console.rule('nova-aio demo')
    console.print('state directory %s (logs: %s)' % (options.state_dir,
                                                     log_file))
    cloud_options = aio_cloud.CloudOptions(
        state_dir=options.state_dir, namespace_mib=options.vpmem_mib,
        namespaces_per_host=options.vpmem_count,
        bandwidth_mib=options.bandwidth_mib,
        completion_timeout=options.completion_timeout)
    began = time.monotonic()
    failures = None
    hosts = cloud = None
    try:
        hosts = _start_hosts(options, console)
        if hosts is None:
            guest = guests.EmulatedGuest(options.dirty_pages_per_second)
            cloud = aio_cloud.Cloud(cloud_options)
        else:
            guest = guests.RealGuest(hosts)
            aio_cloud.CONF.set_override(
                'images_file', hosts.write_images_file(os.path.join(
                    options.state_dir, 'images.json')), group='api')
            cloud = aio_cloud.Cloud(
                cloud_options,
                hypervisor_overrides=hosts.hypervisor_overrides())
        cloud.start(on_step=lambda text: console.print(
            '[green]started[/] %s' % text))
        facts = story(cloud, console, options, guest)
        failures = report(console, facts)
    except (DemoError, http.APIError) as exc:
        console.print('[red]FAILED[/]: %s' % rich_markup.escape(str(exc)),
                      highlight=False)
        failures = [checks.Check('demo step', False, str(exc))]
    except Exception as exc:
        # The traceback goes to the log; the terminal gets one line.
        aio_cloud.LOG.exception('nova-aio demo failed')
        console.print('[red]FAILED[/]: %s: %s (traceback in %s)' % (
            type(exc).__name__, rich_markup.escape(str(exc)), log_file),
            highlight=False)
        failures = [checks.Check('demo step', False, str(exc))]
    finally:
        if cloud is not None:
            cloud.stop()
        emulator.reset()
        if hosts is not None:
            hosts.stop()
    console.print('demo finished in %.1f s' % (time.monotonic() - began))
    if failures:
        # One line, however long, for scripts to read.
        console.print('[red]nova-aio demo failed[/]: %s' % '; '.join(
            c.name for c in failures), highlight=False, soft_wrap=True)
        return 1
    console.print('[green]nova-aio demo: every check verified[/]')
    return 0

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

"""nova-manage: operator commands that act on the database directly.

    nova-manage [--config-file FILE] db sync [--version REVISION]
    nova-manage [--config-file FILE] db version
    nova-manage [--config-file FILE] service list
    nova-manage [--config-file FILE] vpmem list [--host HOST] [--state S]
    nova-manage [--config-file FILE] vpmem audit [--heal]
    nova-manage [--config-file FILE] vpmem retry-erase HOST NAMESPACE
    nova-manage [--config-file FILE] config validate

Exit status 0 on success, 1 when the command fails (the reason goes to
stderr in one line) or, for ``vpmem audit`` and ``config validate``,
when it found a problem, 2 for a wrong command line.
"""

import sys
import time

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from nova.cmd import config_check
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import vpmem_audit
import nova.conf
from nova import context as nova_context
from nova.db import migration
from nova import exception
from nova import objects
from nova.objects import fields
from nova.objects import service as service_obj
from nova import rpc
from nova.scheduler.client import report
from nova import servicegroup

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

PROG = 'nova-manage'


def _print_table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (c.ljust(w) for c, w in zip(row, widths, strict=True))
        print('  '.join(cells).rstrip())


def _when(value):
    return value.strftime('%Y-%m-%d %H:%M:%S') if value else '-'


class DbCommands:
    """``nova-manage db ...``: the database schema."""

    def sync(self, version=None):
        """Upgrade the schema to ``version``, or to the newest."""
        migration.db_sync(version)
        return 0

    def version(self):
        """Print the schema revision of the database."""
        print(migration.db_version())
        return 0


class ServiceCommands:
    """``nova-manage service ...``: the service records."""

    def list(self):
        """Print every service with its version and whether it is up.

        The version tells which hosts can take part in operations newer
        code added (for example live migration with vpmem).
        """
        objects.register_all()
        ctxt = nova_context.get_admin_context()
        rows = [('Host', 'Binary', 'Version', 'State', 'Status',
                 'Last heartbeat')]
        for svc in objects.ServiceList.get_all(ctxt):
            rows.append((
                svc.host, svc.binary, str(svc.version),
                'up' if servicegroup.service_is_up(svc) else 'down',
                'disabled' if svc.disabled else 'enabled',
                str(servicegroup.last_heartbeat(svc) or '-')))
        _print_table(rows)
        print('This code is service version %d.' %
              service_obj.SERVICE_VERSION)
        return 0


class VPMEMCommands:
    """``nova-manage vpmem ...``: the persistent memory namespaces.

    Each namespace of each host is free, assigned (to an instance, or to
    an instance moving in), erasing, or quarantined (its erase failed or
    its contents are unknown: never handed out, erased again later).
    """

    def __init__(self):
        objects.register_all()
        self.context = nova_context.get_admin_context()

    def list(self, host=None, state=None):
        """Print every namespace record with its state and holder."""
        filters = {}
        if host:
            filters['host'] = host
        if state:
            filters['state'] = state
        records = objects.VPMEMNamespaceList.get_by_filters(self.context,
                                                            filters)
        if not len(records):
            print('No namespace records%s. nova-compute records the '
                  'namespaces of its host when it starts.' % (
                      ' match' if filters else ''))
            return 0
        rows = [('Host', 'Namespace', 'Resource class', 'State',
                 'Instance', 'Migration', 'Since', 'Reason')]
        for record in records:
            rows.append((record.host, record.name, record.resource_class,
                         record.state, record.instance_uuid or '-',
                         record.migration_uuid or '-',
                         _when(record.state_changed_at),
                         record.reason or '-'))
        _print_table(rows)
        return 0

    def audit(self, repair=False):
        """Compare the namespace records, the instances and placement.

        Prints every problem with the command that fixes it; with
        ``repair`` (``--heal``) first applies the repairs that are safe.
        Returns 1 when a problem is left, else 0.
        """
        findings, done = vpmem_audit.audit(
            self.context, report.SchedulerReportClient(), repair=repair)
        for line in done:
            print('healed: %s' % line)
        for finding in findings:
            print('%s  %s  %s: %s' % (finding.kind, finding.host,
                                      finding.what, finding.detail))
            print('    fix: %s' % finding.fix)
        problems = [f for f in findings if f.problem]
        if not problems:
            records = objects.VPMEMNamespaceList.get_all(self.context)
            print('audit: clean: %d namespace(s) on %d host(s); the '
                  'namespace records, the instances and placement agree.'
                  % (len(records), len({r.host for r in records})))
            return 0
        kinds = {}
        for finding in problems:
            kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
        print('audit: %d problem(s): %s' % (len(problems), ', '.join(
            '%d %s' % (n, kind) for kind, n in kinds.items())))
        return 1

    def retry_erase(self, host, name, timeout=120):
        """Have ``host`` erase its quarantined namespace ``name`` now.

        Waits up to ``timeout`` seconds for the outcome. Returns 0 when
        the namespace is erased and free, 1 otherwise.
        """
        record = self._quarantined(host, name)
        attempts = record.erase_attempts
        # Due now, so the host's periodic task retries it even if the
        # request below is lost.
        record.next_erase_at = timeutils.utcnow()
        record.save(expected={'state': fields.VPMEMNamespaceState
                              .QUARANTINED})
        try:
            if not rpc.initialized():
                rpc.init(CONF)
            compute_rpcapi.ComputeAPI().retry_vpmem_erases(
                self.context, host, names=[name])
        except Exception as exc:
            print('Could not ask nova-compute on %s directly (%s); it '
                  'retries at its next periodic run.' % (
                      host, _one_line(exc)))
        print('Waiting up to %d s for %s on %s to be erased...' % (
            timeout, name, host))
        deadline = time.monotonic() + timeout
        while True:
            current = objects.VPMEMNamespace.get_by_id(self.context,
                                                       record.id)
            if current.state == fields.VPMEMNamespaceState.FREE:
                print('%s on %s is erased, verified and free.' % (name,
                                                                  host))
                return 0
            if (current.state == fields.VPMEMNamespaceState.QUARANTINED and
                    current.erase_attempts > attempts):
                print('%s on %s is still quarantined: %s. Next attempt at '
                      '%s.' % (name, host, current.reason,
                               _when(current.next_erase_at)))
                return 1
            if time.monotonic() > deadline:
                print('%s on %s was not retried within %d s: is '
                      'nova-compute on %s running (nova-manage service '
                      'list)? It retries when it runs.' % (
                          name, host, timeout, host))
                return 1
            time.sleep(0.2)

    def _quarantined(self, host, name):
        records = objects.VPMEMNamespaceList.get_by_filters(
            self.context, {'host': host, 'name': name})
        if not len(records):
            raise exception.VPMEMNamespaceNotFound(
                namespace='%s on %s' % (name, host))
        record = records[0]
        if record.state != fields.VPMEMNamespaceState.QUARANTINED:
            raise exception.VPMEMNamespaceNotQuarantined(
                namespace='%s on %s' % (name, host), state=record.state)
        return record


CATEGORIES = {'db': DbCommands, 'service': ServiceCommands,
              'vpmem': VPMEMCommands,
              'config': config_check.ConfigCommands}


def _add_command_parsers(subparsers):
    db = subparsers.add_parser('db', help='Database schema commands.')
    actions = db.add_subparsers(dest='action', metavar='<action>')
    actions.required = True

    sync = actions.add_parser(
        'sync', help='Create or upgrade the schema; safe to run again.')
    sync.add_argument('--version', dest='sync_version', default=None,
                      metavar='REVISION',
                      help='Alembic revision to upgrade to (default: the '
                           'newest).')
    sync.set_defaults(action_fn=lambda cmds: cmds.sync(
        CONF.category.sync_version))

    version = actions.add_parser(
        'version', help='Print the schema revision of the database.')
    version.set_defaults(action_fn=lambda cmds: cmds.version())


    service = subparsers.add_parser('service', help='Service records.')
    actions = service.add_subparsers(dest='action', metavar='<action>')
    actions.required = True
    listing = actions.add_parser(
        'list', help='List services with their version and state.')
    listing.set_defaults(action_fn=lambda cmds: cmds.list())


    _add_vpmem_parsers(subparsers)
    config_check.add_command_parsers(subparsers)


def _add_vpmem_parsers(subparsers):
    vpmem = subparsers.add_parser(
        'vpmem', help='Persistent memory namespaces: states, audit, '
                      'erase retries.')
    actions = vpmem.add_subparsers(dest='action', metavar='<action>')
    actions.required = True

    listing = actions.add_parser(
        'list', help='Every namespace of every host with its state and '
                     'holder.')
    listing.add_argument('--host', dest='vpmem_host', default=None,
                         help='Only the namespaces of this host.')
    listing.add_argument('--state', dest='vpmem_state', default=None,
                         choices=fields.VPMEMNamespaceState.ALL,
                         help='Only the namespaces in this state.')
    listing.set_defaults(action_fn=lambda cmds: cmds.list(
        CONF.category.vpmem_host, CONF.category.vpmem_state))

    audit = actions.add_parser(
        'audit', help='Compare the namespace records, the instances and '
                      'placement; exit 1 when anything is wrong.')
    audit.add_argument('--heal', dest='vpmem_heal', action='store_true',
                       help='First repair what is safe (never frees nor '
                            'erases a namespace) and print what was done.')
    audit.set_defaults(action_fn=lambda cmds: cmds.audit(
        CONF.category.vpmem_heal))

    retry = actions.add_parser(
        'retry-erase', help='Erase a quarantined namespace now, on its '
                            'host, and wait for the outcome.')
    retry.add_argument('vpmem_retry_host', metavar='HOST',
                       help='The compute host of the namespace.')
    retry.add_argument('vpmem_retry_name', metavar='NAMESPACE',
                       help='The namespace name ([libvirt]pmem_namespaces).')
    retry.add_argument('--timeout', dest='vpmem_timeout', type=int,
                       default=120, metavar='SECONDS',
                       help='How long to wait for the outcome (default '
                            '120).')
    retry.set_defaults(action_fn=lambda cmds: cmds.retry_erase(
        CONF.category.vpmem_retry_host, CONF.category.vpmem_retry_name,
        CONF.category.vpmem_timeout))


category_opt = cfg.SubCommandOpt('category',
                                 title='Command categories',
                                 help='Available categories',
                                 handler=_add_command_parsers)


def _one_line(exc):
    # Database drivers write essays; the first line names the problem.
    lines = str(exc).strip().splitlines()
    return '%s: %s' % (type(exc).__name__, lines[0] if lines else '')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    CONF.register_cli_opt(category_opt)
    logging.register_options(CONF)
    # alembic reports every step at INFO; the commands say what matters.
    logging.set_defaults(default_log_levels=(
        logging.get_default_log_levels() + ['alembic=WARN']))
    try:
        CONF(argv, project='nova', prog=PROG)
    except cfg.Error as exc:
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        return 1
    logging.setup(CONF, 'nova')

    category = CONF.category.name
    command = '%s %s' % (category, CONF.category.action)
    try:
        return CONF.category.action_fn(CATEGORIES[category]())
    except Exception as exc:
        LOG.debug('%s %s failed', PROG, command, exc_info=exc)
        print('%s %s failed: %s' % (PROG, command, _one_line(exc)),
              file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())

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

"""nova-status: is this deployment ready for (or done with) an upgrade?

    nova-status [--config-file FILE] upgrade check [--json]

Runs every check of :class:`UpgradeCommands` with the code being
installed and prints one result per check (oslo.upgradecheck's table, or
JSON). Exit status: 0 when every check succeeded, 1 when the worst result
is a warning, 2 when a check failed, 255 when the command itself could
not run (a wrong command line, an unreadable configuration file, an
unexpected error).
"""

import collections
import functools
import sys

from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

import nova.conf
from nova import context as nova_context
from nova.db import api as db
from nova.db import migration
from nova.db import vpmem_api
from nova.objects import resource as resource_obj
from nova.objects import service as service_obj
from nova.scheduler.client import report

CONF = nova.conf.CONF

PROG = 'nova-status'

Code = upgradecheck.Code
Result = upgradecheck.Result

# The oldest nova-compute this release supports: live migration with
# vpmem is how hosts are drained, and a host below it cannot take part.
MIN_COMPUTE_VERSION = service_obj.VPMEM_LIVE_MIGRATION_VERSION

# Exit status when the command could not run at all, as oslo.upgradecheck
# uses: out of the range of check results.
ERROR_EXIT = 255


def _placement_endpoint():
    return (CONF.placement.endpoint_override or
            getattr(CONF.placement, 'endpoint', None) or
            'the %s endpoint of the service catalog'
            % CONF.placement.service_type)


def _parse_microversion(text):
    major, minor = text.split('.')
    return int(major), int(minor)


def _lowest_microversion():
    """The default of ``[placement]microversion``: the lowest the code
    works with (an operator may configure a higher one, never a lower)."""
    for opt in nova.conf.placement.placement_opts:
        if opt.name == 'microversion':
            return opt.default
    raise KeyError('microversion')


def _host_list(services):
    return ', '.join('%s (version %d)' % (svc['host'], svc['version'] or 0)
                     for svc in services)


def _reported(check):
    """Turn an error inside a check into its failure, with the reason.

    Without this, one unreachable service would end the whole command
    with a traceback and hide the results of the other checks.
    """
    @functools.wraps(check)
    def run(self):
        try:
            return check(self)
        except Exception as exc:
            lines = str(exc).strip().splitlines()
            return Result(Code.FAILURE, 'The check could not run: %s: %s' % (
                type(exc).__name__, lines[0] if lines else ''))
    return run


class UpgradeCommands(upgradecheck.UpgradeCommands):
    """The checks of ``nova-status upgrade check``, in print order."""

    display_title = 'nova-vpmem upgrade check results'

    def __init__(self, reportclient=None):
        super().__init__()
        self._reportclient = reportclient
        self._context = nova_context.get_admin_context()
        self._schema_current = None

    @property
    def reportclient(self):
        if self._reportclient is None:
            self._reportclient = report.SchedulerReportClient()
        return self._reportclient

    # -- database ------------------------------------------------------------

    @_reported
    def _check_db_schema(self):
        current = migration.db_version()
        head = migration.head_revision()
        self._schema_current = current == head
        if current is None:
            return Result(Code.FAILURE, (
                'The database has no schema (it was never synced). Run '
                '"nova-manage db sync", then run this check again.'))
        if current != head:
            return Result(Code.FAILURE, (
                'The database schema is at revision %s; this code needs '
                '%s. Run "nova-manage db sync" with this release installed, '
                'then run this check again.' % (current, head)))
        return Result(Code.SUCCESS, 'The schema is at revision %s.' % head)

    def _schema_not_current(self):
        # The other database checks read tables of the current schema.
        if self._schema_current is False:
            return Result(Code.WARNING, (
                'Not checked: the database schema is not current (see the '
                'database schema check). Run "nova-manage db sync" first.'))
        return None

    # -- placement -----------------------------------------------------------

    @_reported
    def _check_placement(self):
        needed = CONF.placement.microversion
        lowest = _lowest_microversion()
        if _parse_microversion(needed) < _parse_microversion(lowest):
            return Result(Code.FAILURE, (
                '[placement]microversion is %s; nova-vpmem needs at least '
                '%s. Remove the setting (the default is %s) or raise it.'
                % (needed, lowest, lowest)))
        try:
            resp = self.reportclient.adapter.get('/', raise_exc=False)
        except ks_exc.ClientException as exc:
            return Result(Code.FAILURE, (
                'Placement cannot be reached at %s: %s. Check the '
                '[placement] options and that placement (or, for the '
                'all-in-one, the embedded placement) is running.'
                % (_placement_endpoint(), exc)))
        # Known only now: the auth plugin registers its own options.
        endpoint = _placement_endpoint()
        if resp.status_code != 200:
            return Result(Code.FAILURE, (
                'Placement at %s answered %d to GET /; expected its '
                'version document. Check that [placement] points at the '
                'placement API.' % (endpoint, resp.status_code)))
        versions = resp.json().get('versions') or [{}]
        highest = versions[0].get('max_version')
        if highest is None:
            return Result(Code.FAILURE, (
                'Placement at %s did not say which microversions it '
                'supports. Check that [placement] points at the placement '
                'API.' % endpoint))
        if _parse_microversion(highest) < _parse_microversion(needed):
            return Result(Code.FAILURE, (
                'Placement at %s supports microversions up to %s; nova-vpmem '
                'needs %s ([placement]microversion). Upgrade placement '
                'first.' % (endpoint, highest, needed)))
        return Result(Code.SUCCESS, (
            'Placement at %s supports microversion %s (up to %s).'
            % (endpoint, needed, highest)))

    # -- compute services ----------------------------------------------------

    @_reported
    def _check_compute_versions(self):
        skipped = self._schema_not_current()
        if skipped:
            return skipped
        services = db.service_get_all_by_binary(
            self._context, service_obj.COMPUTE_BINARY, include_disabled=True)
        if not services:
            return Result(Code.SUCCESS, 'No nova-compute service is '
                                        'registered yet.')
        too_old = [svc for svc in services
                   if (svc['version'] or 0) < MIN_COMPUTE_VERSION]
        no_cold = [svc for svc in services if MIN_COMPUTE_VERSION <=
                   (svc['version'] or 0) <
                   service_obj.COLD_MIGRATION_VERSION]
        if too_old:
            return Result(Code.FAILURE, (
                'These nova-compute services run code that cannot '
                'live-migrate instances with vpmem (service version %d or '
                'later needed): %s. Upgrade nova-compute on those hosts and '
                'restart it; delete the service record of a host that is '
                'gone for good (openstack compute service delete).'
                % (MIN_COMPUTE_VERSION, _host_list(too_old))))
        if no_cold:
            return Result(Code.WARNING, (
                'These nova-compute services cannot cold-migrate instances '
                'with vpmem (service version %d or later needed): %s. '
                'Upgrade nova-compute on those hosts.'
                % (service_obj.COLD_MIGRATION_VERSION, _host_list(no_cold))))
        return Result(Code.SUCCESS, (
            'All %d nova-compute service(s) are at service version %d or '
            'later (this code is version %d).' % (
                len(services), service_obj.COLD_MIGRATION_VERSION,
                service_obj.SERVICE_VERSION)))

    # -- namespaces in placement ---------------------------------------------

    @_reported
    def _check_namespace_inventory(self):
        skipped = self._schema_not_current()
        if skipped:
            return skipped
        recorded = collections.Counter(
            (record['compute_node_uuid'], record['resource_class'])
            for record in vpmem_api.vpmem_namespace_get_all(self._context))
        mismatches = []
        for node in db.compute_node_get_all(self._context):
            mismatches.extend(self._node_mismatches(node, recorded))
        if mismatches:
            return Result(Code.WARNING, (
                'The namespace records and placement disagree: %s. '
                'nova-compute reports both at its next resource update or '
                'when it restarts; if a mismatch stays, check '
                '[libvirt]pmem_namespaces on that host and run "nova-manage '
                'vpmem audit".' % '; '.join(mismatches)))
        return Result(Code.SUCCESS, (
            'Placement offers as many namespaces of each label as each '
            'host has recorded.'))

    def _node_mismatches(self, node, recorded):
        host, rp_uuid = node['host'], node['uuid']
        mine = {rc: n for (uuid, rc), n in recorded.items() if uuid == rp_uuid}
        if self.reportclient.get_provider(self._context, rp_uuid) is None:
            if mine:
                yield ('%s has namespace records but no resource provider '
                       '%s in placement' % (host, rp_uuid))
            return
        _generation, inventory = self.reportclient.get_inventory(
            self._context, rp_uuid)
        offered = {rc: entry['total'] for rc, entry in inventory.items()
                   if rc.startswith(resource_obj.PMEM_NAMESPACE_RC_PREFIX)}
        for rc in sorted(set(mine) | set(offered)):
            if mine.get(rc, 0) != offered.get(rc, 0):
                label = rc[len(resource_obj.PMEM_NAMESPACE_RC_PREFIX):]
                yield ('%s label %s: %d namespace record(s), placement '
                       'total %d (%s)' % (host, label, mine.get(rc, 0),
                                          offered.get(rc, 0), rc))

    _upgrade_checks = (
        ('Database schema', _check_db_schema),
        ('Placement API', _check_placement),
        ('Compute service versions', _check_compute_versions),
        ('Namespaces in placement', _check_namespace_inventory),
    )


def _add_parsers(subparsers):
    upgrade = subparsers.add_parser(
        'upgrade', help='Checks to run before and after an upgrade.')
    actions = upgrade.add_subparsers(dest='action', metavar='<action>')
    actions.required = True
    check = actions.add_parser(
        'check', help='Run every upgrade check; exit 0 (all succeeded), '
                      '1 (a warning) or 2 (a failure).')
    check.add_argument('--json', action='store_true',
                       help='Print the results as JSON instead of a table.')


command_opt = cfg.SubCommandOpt('command', title='Commands',
                                help='Available commands',
                                handler=_add_parsers)


def main(argv=None, default_config_files=None):
    """Run ``nova-status``; return its exit status.

    ``default_config_files`` replaces oslo.config's search for nova.conf
    (tests pass ``[]``).
    """
    argv = sys.argv[1:] if argv is None else argv
    CONF.register_cli_opt(command_opt)
    try:
        CONF(argv, project='nova', prog=PROG,
             default_config_files=default_config_files)
    except cfg.Error as exc:
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        return ERROR_EXIT
    except SystemExit as exc:
        # argparse ends a wrong command line with status 2, which would
        # read as a failed check; --help ends with 0.
        return ERROR_EXIT if exc.code else 0
    # UpgradeCommands.check reads --json through the library's module
    # variable, which its own main() would set.
    upgradecheck.CONF = CONF
    try:
        return int(UpgradeCommands().check())
    except Exception as exc:
        print('%s upgrade check could not run: %s: %s' % (
            PROG, type(exc).__name__, exc), file=sys.stderr)
        return ERROR_EXIT


if __name__ == '__main__':
    sys.exit(main())

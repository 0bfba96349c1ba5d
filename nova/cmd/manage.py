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

Exit status 0 on success, 1 when the command fails (the reason goes to
stderr in one line), 2 for a wrong command line.
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging

import nova.conf
from nova import context as nova_context
from nova.db import migration
from nova import objects
from nova.objects import service as service_obj
from nova import servicegroup

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

PROG = 'nova-manage'


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
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            cells = (c.ljust(w) for c, w in zip(row, widths, strict=True))
            print('  '.join(cells).rstrip())
        print('This code is service version %d.' %
              service_obj.SERVICE_VERSION)
        return 0


CATEGORIES = {'db': DbCommands, 'service': ServiceCommands}


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

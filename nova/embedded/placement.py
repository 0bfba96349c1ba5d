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

"""The real openstack-placement service, embedded.

The embedded deployment runs the placement WSGI application itself rather
than requiring a separate install: the same code as a production
placement, with ``noauth2`` and its own database (SQLite by default). It
can be served by a thread of the calling process or, for services in
separate processes, on its own::

    python -m nova.embedded.placement --port 8778 \\
        --connection sqlite:////var/lib/nova/placement.sqlite

Clients authenticate with the token ``admin`` (see
``nova.scheduler.client.report.configure_token_auth``).

openstack-placement is the ``embedded`` extra of nova-vpmem, not a
requirement of the separate services: this module imports it only when an
app is made, so importing it (nova-aio does) works without the extra.
"""

import argparse
import sys
import threading

from oslo_config import cfg
from sqlalchemy.engine import url as sqla_url

from nova import exception

ADMIN_TOKEN = 'admin'


class PlacementNotInstalled(exception.NovaException):
    msg_fmt = ("the embedded placement needs the `embedded` extra: "
               "pip install 'nova-vpmem[embedded]' (importing openstack-"
               "placement failed: %(reason)s)")


def _import_placement():
    """Return placement's conf, db_api and deploy modules.

    Raises PlacementNotInstalled, naming the extra to install, when
    openstack-placement (or one of its own requirements) is missing.
    """
    try:
        from placement import conf
        from placement import db_api
        from placement import deploy
    except ImportError as exc:
        raise PlacementNotInstalled(reason=exc) from None
    return conf, db_api, deploy


def make_app(connection):
    """Return the placement WSGI app on database ``connection``.

    Creates or upgrades the schema. Placement keeps one database engine
    per process, so call this once per process. Raises ValueError for a
    database driver placement cannot work with, PlacementNotInstalled
    without the ``embedded`` extra.
    """
    check_connection(connection)
    placement_conf, placement_db, deploy = _import_placement()
    config = cfg.ConfigOpts()
    placement_conf.register_opts(config)
    config.set_override('connection', connection,
                        group='placement_database')
    config.set_override('sync_on_startup', True, group='placement_database')
    config.set_override('auth_strategy', 'noauth2', group='api')
    config([], project='placement', default_config_files=[])
    placement_db.configure(config)
    app = deploy.loadapp(config)
    if connection.startswith('sqlite'):
        app = _serialized(app)
    return app


def check_connection(connection):
    """Refuse a URL whose driver placement cannot write allocations with.

    Placement reads the cursor's ``lastrowid`` after inserting an
    allocation; psycopg 3 has none, so every claim would answer 500.
    """
    driver = sqla_url.make_url(connection).drivername
    if driver.startswith('postgresql+psycopg') and not driver.startswith(
            'postgresql+psycopg2'):
        raise ValueError(
            'placement cannot use the %s driver (psycopg 3 has no '
            'cursor.lastrowid, which its allocation writes need): use '
            'postgresql+psycopg2:// for placement\'s database' % driver)


def _serialized(app):
    # SQLite takes one writer at a time and answers a second one with
    # "database is locked"; placement's requests are short, so queue them.
    lock = threading.Lock()

    def serialized_app(environ, start_response):
        with lock:
            return list(app(environ, start_response))
    return serialized_app


def serve(connection, host='127.0.0.1', port=0):
    """Start placement on ``host:port`` in a thread; return the service.

    ``service.port`` is the port it got (``port=0`` picks a free one) and
    ``endpoint(service)`` its URL.
    """
    server = _service(connection, host, port)
    server.start()
    return server


def _service(connection, host, port):
    from nova import service as nova_service
    return nova_service.WSGIService('placement', make_app(connection),
                                    host, port)


def endpoint(server):
    return 'http://%s:%s' % (server.host, server.port)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova.embedded.placement',
        description='Serve the placement API for an embedded deployment.')
    parser.add_argument('--connection', required=True,
                        help='SQLAlchemy URL of placement\'s database.')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8778)
    args = parser.parse_args(argv)
    from nova import service as nova_service
    try:
        server = _service(args.connection, args.host, args.port)
    except (ValueError, PlacementNotInstalled) as exc:
        parser.error(str(exc))
    nova_service.serve(server)
    print('placement listening on %s (token %s)' % (endpoint(server),
                                                    ADMIN_TOKEN), flush=True)
    return 0 if nova_service.wait() else 1


if __name__ == '__main__':
    sys.exit(main())

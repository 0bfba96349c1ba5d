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
import contextlib
import sqlite3
import sys
import threading
import time

from oslo_config import cfg
from sqlalchemy.engine import url as sqla_url

from nova.db import engine as db_engine
from nova import exception
from nova import schema_check

ADMIN_TOKEN = 'admin'
# Idle connections kept open to placement's SQLite file (oslo.db's
# max_pool_size default).
SQLITE_POOL_SIZE = 5


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
    # Before placement opens the database: WAL cannot be switched on
    # while another connection uses it.
    mode = (sqlite_mode(connection) if connection.startswith('sqlite')
            else None)
    config = cfg.ConfigOpts()
    placement_conf.register_opts(config)
    config.set_override('connection', connection,
                        group='placement_database')
    config.set_override('sync_on_startup', True, group='placement_database')
    config.set_override('auth_strategy', 'noauth2', group='api')
    config([], project='placement', default_config_files=[])
    placement_db.configure(config)
    app = deploy.loadapp(config)
    # Imported by now: placement's handlers use it.
    check_schemas_once(sys.modules.get('placement.util'))
    if mode is not None:
        # Placement's engine is oslo.db's too: the same per-transaction
        # open and close of a SQLite file as nova's (nova.db.engine).
        db_engine.keep_sqlite_connections(
            placement_db.get_placement_engine(), SQLITE_POOL_SIZE)
        app = SQLiteGuard(app, mode)
    return app


def check_schemas_once(placement_util):
    """Have placement check each of its request schemas once per process.

    ``jsonschema.validate``, which placement calls for every request
    body and query, first checks the schema itself against its
    meta-schema: for ``POST /allocations`` that check costs more than the
    rest of the request's validation. Placement's schemas are constants,
    so here the check runs once per schema; the request is validated as
    before, with the same errors.
    """
    if placement_util is None or isinstance(
            getattr(placement_util, 'jsonschema', None), SchemaCheckedOnce):
        return
    placement_util.jsonschema = SchemaCheckedOnce(placement_util.jsonschema)


class SchemaCheckedOnce:
    """The ``jsonschema`` module, but ``validate`` checks a schema only
    the first time it sees it (:mod:`nova.schema_check`)."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def validate(self, instance, schema, cls=None, *args, **kwargs):
        schema_check.CHECKED.validate(instance, schema, cls, *args,
                                      **kwargs)


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


# What can run together on placement's SQLite database, by mode.
SERIAL = 'serial'          # one request at a time (in-memory database)
SHARED_READS = 'shared-reads'  # reads together, a write alone
WAL = 'wal'                # reads never wait; writes one at a time
_READ_METHODS = ('GET', 'HEAD', 'OPTIONS')


class _ReadersWriterLock:
    """Many readers or one writer; a waiting writer goes before new
    readers, so a stream of reads cannot starve the claims."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    def acquire_read(self):
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1

    def release_read(self):
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def acquire_write(self):
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True

    def release_write(self):
        with self._cond:
            self._writing = False
            self._cond.notify_all()


class _NoLock:
    def acquire(self):
        pass

    def release(self):
        pass


class SQLiteGuard:
    """Placement's WSGI app, with only what SQLite cannot run together
    kept apart.

    SQLite takes one writer at a time and answers a second one "database
    is locked" once its busy timeout passes; placement's requests are
    short, so writes queue here instead. Reads (placement's GETs write
    nothing) run together: alongside a write too in WAL mode, where
    readers see the last commit; otherwise between writes. ``stats()``
    tells how long requests waited for their turn.
    """

    def __init__(self, app, mode):
        self.app = app
        self.mode = mode
        self._stats_lock = threading.Lock()
        self._waited = {'read': [0, 0.0], 'write': [0, 0.0]}
        if mode == WAL:
            self._read_lock = _NoLock()
            self._write_lock = threading.Lock()
        elif mode == SHARED_READS:
            rw = _ReadersWriterLock()
            self._read_lock = _Pair(rw.acquire_read, rw.release_read)
            self._write_lock = _Pair(rw.acquire_write, rw.release_write)
        else:
            lock = threading.Lock()
            self._read_lock = self._write_lock = lock

    def __call__(self, environ, start_response):
        kind = ('read' if environ.get('REQUEST_METHOD') in _READ_METHODS
                else 'write')
        lock = self._read_lock if kind == 'read' else self._write_lock
        began = time.monotonic()
        lock.acquire()
        waited = time.monotonic() - began
        try:
            return list(self.app(environ, start_response))
        finally:
            lock.release()
            with self._stats_lock:
                self._waited[kind][0] += 1
                self._waited[kind][1] += waited

    def stats(self):
        """``{'mode', 'read': {'requests', 'wait_s'}, 'write': {...}}``."""
        with self._stats_lock:
            return dict(mode=self.mode, **{
                kind: {'requests': n, 'wait_s': round(wait, 4)}
                for kind, (n, wait) in self._waited.items()})


class _Pair:
    def __init__(self, acquire, release):
        self.acquire = acquire
        self.release = release


def sqlite_mode(connection):
    """How requests may overlap on the SQLite database ``connection``.

    A file database is switched to WAL (persistent, so later opens keep
    it); if that fails (a file system without shared memory, say), reads
    still share, between writes. An in-memory database is one connection:
    one request at a time.
    """
    path = sqla_url.make_url(connection).database
    if not path or path == ':memory:':
        return SERIAL
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            mode = conn.execute('PRAGMA journal_mode=WAL').fetchone()[0]
    except sqlite3.Error:
        return SHARED_READS
    return WAL if str(mode).lower() == 'wal' else SHARED_READS


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

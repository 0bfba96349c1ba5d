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

"""The process-wide database engine and transactions on it.

The engine is built lazily from ``[database]connection`` by oslo.db's
``engines.create_engine``, which applies the other ``[database]`` options
(pool sizes, connect retries at start, SQLite pragmas, MySQL session
variables, SQL logging) and turns driver errors into oslo.db's portable
exceptions. Tests (and tools) can install an engine of their own with
:func:`configure` and drop it again with :func:`reset`.

An in-memory SQLite database exists only inside one connection, so for
``sqlite://`` every thread shares that single connection (oslo.db gives it
a ``StaticPool``). Two threads must then never interleave statements of
their transactions on it, so transactions on such an engine are serialized
with a lock.
"""

import contextlib
import os
import sqlite3
import threading

import sqlalchemy as sa
from oslo_db.sqlalchemy import engines
from oslo_log import log as logging
from sqlalchemy import orm
from sqlalchemy import pool as sa_pool

import nova.conf
from nova.conf import database as database_conf
from nova import exception

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# Seconds a SQLite connection waits for another's lock before "database
# is locked" (pysqlite's default is 5): every transaction takes the write
# lock up front, and under a burst they queue for longer than that.
SQLITE_BUSY_TIMEOUT = 60

_STATE_LOCK = threading.Lock()
_STATE = None

# The [database] options nova/conf/database.py registers besides the URL,
# each a keyword of oslo.db's engines.create_engine of the same name.
ENGINE_OPTIONS = (
    'sqlite_synchronous',
    'mysql_sql_mode',
    'mysql_wsrep_sync_wait',
    'connection_recycle_time',
    'max_pool_size',
    'max_overflow',
    'pool_timeout',
    'max_retries',
    'retry_interval',
    'connection_debug',
    'connection_trace',
    'connection_parameters',
)


class _EngineState:
    """An engine with its session factory and, if needed, its lock."""

    def __init__(self, engine, owned):
        self.engine = engine
        # Engines built here from the configuration are disposed on reset;
        # engines handed to configure() belong to the caller.
        self.owned = owned
        self.sessionmaker = orm.sessionmaker(bind=engine,
                                             expire_on_commit=False)
        if isinstance(engine.pool, sa_pool.StaticPool):
            self.serializer = threading.RLock()
        else:
            self.serializer = contextlib.nullcontext()


def _is_memory_sqlite(url):
    return url.database in (None, '', ':memory:')


def create_engine(connection):
    """Build an engine for a database URL with the ``[database]`` options.

    SQLite file URLs get their parent directory created; every SQLite
    connection enforces foreign keys, as MySQL and PostgreSQL always do.
    Unless ``[database]max_retries`` is 0, this tries to connect up to
    ``max_retries`` times in all, every ``retry_interval`` seconds, so an
    unreachable database fails here with
    ``oslo_db.exception.DBConnectionError``.
    """
    if not connection:
        raise exception.InvalidConfiguration(
            reason=database_conf.missing_connection_reason(CONF))
    url = sa.engine.make_url(connection)
    sqlite_file = (url.get_backend_name() == 'sqlite' and
                   not _is_memory_sqlite(url))
    if sqlite_file:
        parent = os.path.dirname(os.path.abspath(url.database))
        os.makedirs(parent, exist_ok=True)
    kwargs = {name: CONF.database[name] for name in ENGINE_OPTIONS}
    if sqlite_file:
        _journal_wal(url.database)
        given = kwargs['connection_parameters'] or ''
        if 'timeout' not in url.query and 'timeout=' not in given:
            kwargs['connection_parameters'] = '&'.join(
                p for p in (given, 'timeout=%d' % SQLITE_BUSY_TIMEOUT) if p)
    # The services run on native threads: no need to yield on check-in
    # (oslo.db's help for eventlet).
    engine = engines.create_engine(connection, sqlite_fk=True,
                                   thread_checkin=False, **kwargs)
    if sqlite_file:
        _put_begin_immediate_first(engine)
        keep_sqlite_connections(engine, CONF.database.max_pool_size)
    return engine


def keep_sqlite_connections(engine, pool_size):
    """Keep up to ``pool_size`` (0: any number of) idle connections of
    a SQLite file engine open for the next transaction.

    oslo.db gives SQLite file databases a NullPool: every transaction
    opens the file, registers functions, sets pragmas and closes it
    again, which costs several times the statements a short transaction
    runs. The QueuePool here shares the old pool's creator and listeners
    (as SQLAlchemy's own ``Pool.recreate`` does) and never makes a thread
    wait: past ``pool_size`` connections are opened and closed per use,
    as before. Returns False, changing nothing, for another pool or a
    SQLAlchemy without the attributes this relies on.
    """
    old = engine.pool
    if type(old) is not sa_pool.NullPool:
        return False
    try:
        new = sa_pool.QueuePool(
            old._creator, pool_size=pool_size, max_overflow=-1,
            recycle=old._recycle, pre_ping=old._pre_ping,
            reset_on_return=old._reset_on_return, echo=old.echo,
            logging_name=old._orig_logging_name,
            _dispatch=old.dispatch, dialect=old._dialect)
    except (AttributeError, TypeError) as exc:
        LOG.warning('Opening a SQLite connection per transaction: cannot '
                    'pool them with this SQLAlchemy (%s).', exc)
        return False
    # The BEGIN IMMEDIATE mark normally goes at commit or rollback; a
    # connection handed back otherwise must not carry it to its next
    # user, who would then run without a transaction.
    sa.event.listen(new, 'checkin', _forget_transaction)
    engine.pool = new
    old.dispose()
    return True


def _forget_transaction(dbapi_connection, connection_record):
    if connection_record is not None:
        connection_record.info.pop('in_transaction', None)


def _journal_wal(path):
    # A commit syncs one log instead of the journal's several, and the
    # mode stays with the file.
    with contextlib.closing(sqlite3.connect(
            path, timeout=SQLITE_BUSY_TIMEOUT)) as conn:
        conn.execute('PRAGMA journal_mode=WAL')


def _put_begin_immediate_first(engine):
    # Ahead of oslo.db's own listener, which would emit a plain BEGIN
    # (listen(..., insert=True) does not reorder engine events).
    oslo_listeners = list(engine.dispatch.begin)
    for listener in oslo_listeners:
        sa.event.remove(engine, 'begin', listener)
    sa.event.listen(engine, 'begin', _begin_immediate)
    for listener in oslo_listeners:
        sa.event.listen(engine, 'begin', listener)


def _begin_immediate(conn):
    # oslo.db starts SQLite transactions itself. A deferred BEGIN that
    # reads and then writes fails at once with "database is locked" when
    # another connection wrote meanwhile; taking the write lock up front
    # makes concurrent transactions on a SQLite file wait for each other.
    if 'in_transaction' not in conn.info:
        conn.exec_driver_sql('BEGIN IMMEDIATE')
        # oslo.db's listener sees the mark and emits no BEGIN of its own.
        conn.info['in_transaction'] = True


def _get_state():
    global _STATE
    state = _STATE
    if state is not None:
        return state
    with _STATE_LOCK:
        if _STATE is None:
            engine = create_engine(CONF.database.connection)
            _STATE = _EngineState(engine, owned=True)
        return _STATE


def get_engine():
    """Return the engine in use, building it from the config if needed."""
    return _get_state().engine


def configure(engine):
    """Use ``engine`` for every later DB API call in this process.

    Returns what was in use before; hand it to :func:`reset` to go back.
    """
    global _STATE
    with _STATE_LOCK:
        previous, _STATE = _STATE, _EngineState(engine, owned=False)
    return previous


def reset(previous=None):
    """Drop the engine in use and go back to ``previous``.

    ``previous`` is what :func:`configure` returned; without it, the next
    call builds an engine from the configuration again. An engine built
    from the configuration is disposed; one installed with
    :func:`configure` is left to its owner.
    """
    global _STATE
    with _STATE_LOCK:
        current, _STATE = _STATE, previous
    if current is not None and current.owned and current is not previous:
        current.engine.dispose()


@contextlib.contextmanager
def transaction():
    """Yield a session in a transaction, committed when the block ends.

    The block's exception rolls the transaction back and propagates.
    """
    state = _get_state()
    with state.serializer:
        with state.sessionmaker.begin() as session:
            yield session


@contextlib.contextmanager
def connection():
    """Yield a plain connection of the engine, for schema work."""
    state = _get_state()
    with state.serializer:
        with state.engine.connect() as conn:
            yield conn

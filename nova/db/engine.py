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

The engine is built lazily from ``[database]connection``. Tests (and
tools) can install an engine of their own with :func:`configure` and drop
it again with :func:`reset`.

An in-memory SQLite database exists only inside one connection, so for
``sqlite://`` every thread shares that single connection (``StaticPool``).
Two threads must then never interleave statements of their transactions on
it, so transactions on such an engine are serialized with a lock.
"""

import contextlib
import os
import threading

import sqlalchemy as sa
from oslo_db.sqlalchemy import exc_filters
from sqlalchemy import orm
from sqlalchemy import pool as sa_pool

import nova.conf
from nova import exception

CONF = nova.conf.CONF

_STATE_LOCK = threading.Lock()
_STATE = None


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


def _enable_sqlite_foreign_keys(dbapi_connection, connection_record):
    # SQLite ignores foreign keys unless asked per connection; MySQL and
    # PostgreSQL always enforce them, so tests on SQLite should too.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute('PRAGMA foreign_keys = ON')
    finally:
        cursor.close()


def _mysql_sql_mode_setter(sql_mode):
    def set_sql_mode(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute('SET SESSION sql_mode = %s', (sql_mode,))
        finally:
            cursor.close()
    return set_sql_mode


def create_engine(connection):
    """Build an engine for a database URL with nova-vpmem's settings.

    SQLite file URLs get their parent directory created; ``sqlite://``
    gets one connection shared by all threads. MySQL and PostgreSQL get a
    pool sized from the ``[database]`` options.
    """
    if not connection:
        raise exception.InvalidConfiguration(
            reason='[database]connection is not set')
    url = sa.engine.make_url(connection)
    backend = url.get_backend_name()
    kwargs = {}
    if backend == 'sqlite':
        kwargs['connect_args'] = {'check_same_thread': False}
        if _is_memory_sqlite(url):
            kwargs['poolclass'] = sa_pool.StaticPool
        else:
            parent = os.path.dirname(os.path.abspath(url.database))
            os.makedirs(parent, exist_ok=True)
    else:
        # Connections dropped by the server (idle timeouts, failover) are
        # noticed at checkout instead of failing the first statement.
        kwargs['pool_pre_ping'] = True
        kwargs['pool_recycle'] = CONF.database.connection_recycle_time
        if CONF.database.max_pool_size is not None:
            kwargs['pool_size'] = CONF.database.max_pool_size
        if CONF.database.max_overflow is not None:
            kwargs['max_overflow'] = CONF.database.max_overflow
        if CONF.database.pool_timeout is not None:
            kwargs['pool_timeout'] = CONF.database.pool_timeout

    engine = sa.create_engine(url, **kwargs)
    # Turn driver errors into oslo.db's portable exceptions
    # (DBDuplicateEntry, DBReferenceError, DBDeadlock, ...).
    exc_filters.register_engine(engine)
    if backend == 'sqlite':
        sa.event.listen(engine, 'connect', _enable_sqlite_foreign_keys)
    elif backend == 'mysql' and CONF.database.mysql_sql_mode:
        sa.event.listen(engine, 'connect', _mysql_sql_mode_setter(
            CONF.database.mysql_sql_mode))
    return engine


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

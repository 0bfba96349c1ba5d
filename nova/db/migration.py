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

"""Schema migrations: bring a database to the schema this code needs.

The alembic environment lives in ``nova/db/migrations``; its configuration
is built here in code, so no alembic.ini is needed at runtime.
"""

import contextlib
import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script
from alembic import util as alembic_util

from nova.db import engine as db_engine
from nova import exception

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'migrations')


def _alembic_config(connection=None):
    config = alembic_config.Config()
    config.set_main_option('script_location', MIGRATIONS_DIR)
    if connection is not None:
        # env.py runs the migrations on this connection.
        config.attributes['connection'] = connection
    return config


@contextlib.contextmanager
def _connection(engine=None, begin=False):
    """A connection to ``engine``, or to the DB API's engine if None."""
    if engine is None:
        # Goes through the DB API's lock: an in-memory SQLite engine has a
        # single connection that other threads may be using.
        with db_engine.connection() as conn:
            if begin:
                with conn.begin():
                    yield conn
            else:
                yield conn
    elif begin:
        with engine.begin() as conn:
            yield conn
    else:
        with engine.connect() as conn:
            yield conn


def head_revision():
    """Return the revision of the newest migration this code ships."""
    scripts = alembic_script.ScriptDirectory.from_config(_alembic_config())
    return scripts.get_current_head()


def db_sync(version=None, engine=None):
    """Upgrade the schema to ``version`` (the newest if None).

    Safe to run again on an up-to-date database: it does nothing.
    ``engine`` defaults to the one the DB API uses
    (``[database]connection``).
    """
    target = str(version) if version is not None else 'head'
    with _connection(engine, begin=True) as conn:
        try:
            alembic_command.upgrade(_alembic_config(conn), target)
        except alembic_util.CommandError as err:
            raise exception.DBMigrationError(reason=str(err))


def db_version(engine=None):
    """Return the schema revision of the database, None if never synced."""
    with _connection(engine) as conn:
        context = alembic_migration.MigrationContext.configure(conn)
        return context.get_current_revision()


def check_db_version(engine=None):
    """Raise DBNotAtLatestVersion unless the schema is at the head."""
    current = db_version(engine)
    expected = head_revision()
    if current != expected:
        engine = engine or db_engine.get_engine()
        raise exception.DBNotAtLatestVersion(
            connection=engine.url.render_as_string(hide_password=True),
            current=current, expected=expected)

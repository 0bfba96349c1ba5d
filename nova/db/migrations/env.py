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

"""The alembic environment: how migrations reach the database.

``nova.db.migration`` passes an open connection in the config's
attributes. Without one (alembic run by hand), the engine comes from
``[database]connection``.
"""

from alembic import context

from nova.db import engine as db_engine

config = context.config


def _configure(**kwargs):
    # No target metadata: the schema is what the scripts create, and
    # models are checked against it by a test instead.
    context.configure(target_metadata=None, **kwargs)


def run_migrations_offline():
    """Print the SQL for a database given by URL, without connecting."""
    url = (config.get_main_option('sqlalchemy.url') or
           db_engine.get_engine().url.render_as_string(hide_password=False))
    _configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection):
    _configure(connection=connection,
               render_as_batch=connection.dialect.name == 'sqlite')
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get('connection')
    if connection is not None:
        _run_on(connection)
        return
    with db_engine.get_engine().begin() as connection:
        _run_on(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

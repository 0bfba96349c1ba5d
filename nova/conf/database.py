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

"""Options of the [database] group.

The options are oslo.db's own, but only those nova-vpmem honours are
registered and listed in the sample: the engine passes each of them to
``oslo_db.sqlalchemy.engines.create_engine`` (see ``nova.db.engine``).
oslo.db's others do not apply here and are left out on purpose:
``backend`` (there is one), ``slave_connection`` and
``synchronous_reader`` (every query goes to ``connection``), the
``asyncio_*`` URLs (no asyncio code), and ``use_db_reconnect`` with its
``db_*`` retry options (they drive oslo.db's ``DBAPI`` wrapper, which the
DB API does not use). Setting one of them gets a warning at start.

There is no default connection: a service without ``[database]connection``
refuses to start instead of creating a database somewhere unexpected.
"""

import difflib

from oslo_config import cfg
from oslo_db import options as oslo_db_options

GROUP = 'database'

HONOURED_OPTIONS = (
    'connection',
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

database_opts = [opt for opt in oslo_db_options.database_opts
                 if opt.name in HONOURED_OPTIONS]


def register_opts(conf):
    conf.register_opts(database_opts, group=GROUP)


def set_defaults(conf):
    """Nothing to change: oslo.db's defaults apply, and no connection."""


def list_opts():
    return {GROUP: database_opts}


def missing_connection_reason(conf):
    """Say that ``[database]connection`` is missing, and where it goes."""
    # Unset (NoSuchOptError, an AttributeError) before the command line
    # was parsed.
    files = list(getattr(conf, 'config_file', None) or [])
    if files:
        where = 'the [database] section of %s' % ' or '.join(files)
    else:
        where = ('the [database] section of /etc/nova/nova.conf (no config '
                 'file was read: pass --config-file)')
    reason = ('[database]connection is not set: put e.g. "connection = '
              'mysql+pymysql://nova:SECRET@db-host/nova" in %s' % where)
    misspelt = [name for name in _sections_of(files)
                if name != GROUP and difflib.get_close_matches(
                    name, [GROUP], n=1, cutoff=0.8)]
    if misspelt:
        reason += ' ([%s] in the file is not [database])' % misspelt[0]
    return reason


def _sections_of(files):
    names = []
    for path in files:
        sections = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except Exception:
            # oslo.config read the file already; this is only a hint.
            continue
        names.extend(sections)
    return names

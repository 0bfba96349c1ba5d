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

"""What every nova-vpmem service does before it runs.

Parse the command line and configuration files, set up oslo.log, open the
RPC transport, register the versioned objects, and check that the
database schema is the one this code needs. A failure at startup ends the
process with one readable error line and a non-zero exit status, or, for
a WSGI server that must keep running, raises :class:`StartupError`.
"""

import importlib.metadata
import logging as std_logging
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from nova.cmd import config_check
import nova.conf
from nova import objects
from nova import rpc

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

DISTRIBUTION = 'nova-vpmem'


class StartupError(Exception):
    """This process could not be configured; the message says why."""


def _version():
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return 'unknown'


def parse_args(argv, binary, exit_on_error=True):
    """Read ``argv`` (without the program name) and the config files.

    A configuration error ends the process with its message on stderr:
    logging is not set up yet, and the message is all the user needs.
    With ``exit_on_error`` False it raises :class:`StartupError` instead.
    """
    logging.register_options(CONF)
    # The schema check goes through alembic, which narrates at INFO.
    logging.set_defaults(default_log_levels=(
        logging.get_default_log_levels() + ['alembic=WARN']))
    try:
        CONF(argv, project='nova', prog=binary, version=_version())
    except cfg.Error as exc:
        message = '%s: %s' % (binary, exc)
        if exit_on_error:
            sys.exit(message)
        _forget_config()
        raise StartupError(message) from exc
    logging.setup(CONF, 'nova')


def _forget_config():
    # A caller that retries calls parse_args again, which oslo.config
    # refuses once arguments were parsed (ArgsAlreadyParsedError) unless
    # the parsed state is dropped first. Registered options stay.
    CONF.clear()


def describe_error(exc):
    """One line naming the error, without a database driver's essay."""
    lines = str(exc).strip().splitlines()
    return '%s: %s' % (type(exc).__name__, lines[0] if lines else '')


def fail(binary, exc):
    """Log why ``binary`` could not start and exit with status 1.

    Call it outside the ``except`` block: oslo.log appends the exception
    being handled to an error line, which would say everything twice.
    """
    LOG.error('%s could not start: %s', binary, describe_error(exc))
    # The whole traceback only when the operator asked for debug output.
    LOG.debug('Startup failure of %s', binary, exc_info=exc)
    rpc.cleanup()
    sys.exit(1)


def check_db_schema():
    """Refuse to run on a database that is not at the schema head."""
    from nova.db import migration
    migration.check_db_version()


def prepare_service(binary, argv=None, check_db=True, exit_on_error=True):
    """Configure this process as ``binary``: config, logs, RPC, objects.

    Exits (status 1, one log line) when the database cannot be reached or
    its schema is not current. With ``exit_on_error`` False (a WSGI
    application, set up inside a request) it raises :class:`StartupError`
    instead, leaving the process ready for another attempt.
    """
    parse_args(sys.argv[1:] if argv is None else argv, binary,
               exit_on_error)
    LOG.info('%s %s starting on host %s.', binary, _version(), CONF.host)
    error = None
    try:
        config_check.check_service_config(CONF)
        rpc.init(CONF)
        objects.register_all()
        if check_db:
            check_db_schema()
    except Exception as exc:
        error = exc
    if error is not None:
        if exit_on_error:
            fail(binary, error)
        rpc.cleanup()
        _forget_config()
        raise StartupError('%s could not start: %s'
                           % (binary, describe_error(error))) from error


def serve_and_wait(binary, build_services):
    """Start what ``build_services()`` returns; run until SIGTERM/SIGINT.

    Returns normally (exit status 0) after a signal stopped the services.
    """
    from nova import service
    error = None
    try:
        service.serve(*build_services())
    except Exception as exc:
        error = exc
    if error is not None:
        fail(binary, error)
    if not service.wait():
        # Work still running past graceful_shutdown_timeout may sit in
        # threads that would keep the interpreter alive: leave now.
        LOG.error('%s did not stop within graceful_shutdown_timeout; '
                  'exiting anyway.', binary)
        logging_flush()
        os._exit(1)
    rpc.cleanup()
    LOG.info('%s stopped.', binary)


def logging_flush():
    for handler in std_logging.getLogger().handlers:
        handler.flush()


def run_rpc_service(binary, argv=None):
    """Main of an RPC service (nova-compute, nova-conductor)."""
    from nova import service
    prepare_service(binary, argv)
    serve_and_wait(binary, lambda: [service.Service.create(binary=binary)])

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

"""The compute API for WSGI servers (gunicorn, uwsgi, mod_wsgi).

    gunicorn nova.wsgi.osapi_compute:application
    uwsgi --module nova.wsgi.osapi_compute:application

(``nova.api.wsgi_app:application`` is the same application.) The
configuration files are those of ``nova-api`` (``/etc/nova/nova.conf`` by
default; the ``OS_NOVA_CONFIG_FILES`` environment variable, a list
separated by ``;``, overrides them). The process needs the database and
the message bus of the deployment, as nova-api does.
"""

import json
import os
import threading

from oslo_log import log as logging

from nova.api import wsgi
from nova.cmd import common

LOG = logging.getLogger(__name__)

BINARY = 'nova-api'


def init_application():
    """Configure this process as nova-api and build the application.

    Raises :class:`nova.cmd.common.StartupError` when the configuration,
    the message bus or the database schema is not usable.
    """
    files = os.environ.get('OS_NOVA_CONFIG_FILES')
    argv = []
    for path in (files.split(';') if files else ()):
        argv += ['--config-file', path]
    common.prepare_service(BINARY, argv, exit_on_error=False)
    return wsgi.make_app()


_app = None
# Threads of a WSGI server can take their first requests at once: the
# set-up (config, RPC transport, schema check) must run only once.
_app_lock = threading.Lock()


def _get_app():
    """The application, set up on first use; None if that failed."""
    global _app
    if _app is None:
        with _app_lock:
            if _app is None:
                _app = init_application()
    return _app


def _setup_failed(start_response, reason):
    # The server keeps running and the next request tries again, so an
    # operator can fix the configuration or the database without a
    # restart. 503: nothing is wrong with the request itself.
    body = json.dumps({'serviceUnavailable': {
        'code': 503,
        'message': 'The compute API is not available: %s. The next '
                   'request retries its set-up; see the log of the API '
                   'server.' % reason}}).encode('utf-8')
    start_response('503 Service Unavailable', [
        ('Content-Type', 'application/json'),
        ('Content-Length', str(len(body)))])
    return [body]


def application(environ, start_response):
    """The entry point uwsgi and mod_wsgi look for.

    The process is configured on the first request rather than at import,
    so importing this module (a WSGI server's worker preload, a test) has
    no side effects. A failed set-up answers 503 naming the problem and
    is retried by the next request; it never ends the server's process.
    """
    try:
        app = _get_app()
    except common.StartupError as exc:
        LOG.error('%s', exc)
        return _setup_failed(start_response, exc)
    except (Exception, SystemExit) as exc:
        # SystemExit too: code below us may still call sys.exit on bad
        # configuration, which must not reach the WSGI server.
        LOG.exception('Setting up the compute API failed')
        return _setup_failed(start_response, common.describe_error(exc))
    return app(environ, start_response)

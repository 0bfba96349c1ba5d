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

    gunicorn nova.api.wsgi_app:application
    uwsgi --module nova.api.wsgi_app --callable application

The configuration files are those of ``nova-api`` (``/etc/nova/nova.conf``
by default; the ``OS_NOVA_CONFIG_FILES`` environment variable, a list
separated by ``;``, overrides them). The process needs the database and
the message bus of the deployment, as nova-api does.
"""

import os

from nova.api import wsgi
from nova.cmd import common

BINARY = 'nova-api'


def init_application():
    files = os.environ.get('OS_NOVA_CONFIG_FILES')
    argv = []
    for path in (files.split(';') if files else ()):
        argv += ['--config-file', path]
    common.prepare_service(BINARY, argv)
    return wsgi.make_app()


_app = None


def application(environ, start_response):
    """The entry point uwsgi and mod_wsgi look for.

    The process is configured on the first request rather than at import,
    so importing this module (a WSGI server's worker preload, a test) has
    no side effects.
    """
    global _app
    if _app is None:
        _app = init_application()
    return _app(environ, start_response)

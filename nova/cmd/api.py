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

"""nova-api: the compute REST API on ``[api]listen``:``[api]port``.

This serves the WSGI application with the standard library's server, one
thread per request; a production deployment can run
``nova.api.wsgi_app:application`` under gunicorn or uwsgi instead.
"""

import nova.conf
from nova.api import wsgi
from nova.cmd import common
from nova import service

CONF = nova.conf.CONF
BINARY = 'nova-api'


def main(argv=None):
    # The resources read and write the database and call the conductor
    # and computes over RPC (prepare_service sets up the transport); an
    # unsynced schema stops the service at start with the command to run.
    common.prepare_service(BINARY, argv)
    common.serve_and_wait(BINARY, lambda: [
        service.WSGIService(BINARY, wsgi.make_app(), CONF.api.listen,
                            CONF.api.port)])

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

"""Options of the [cors] group: cross-origin requests to the compute API.

The options are oslo.middleware's; this module registers them (so the API
can tell whether ``allowed_origin`` is set before it builds its pipeline)
and sets defaults that name the headers the compute API reads and sends.
They appear in the sample through the ``oslo.middleware`` namespace, not
this one.
"""

from oslo_middleware import cors

GROUP = 'cors'

# What a browser client may read from our responses: the request ids and
# the microversion that answered.
EXPOSE_HEADERS = [
    'OpenStack-API-Version',
    'X-OpenStack-Nova-API-Version',
    'X-OpenStack-Request-ID',
    'X-Compute-Request-Id',
]

# What a browser client may send: its token, the microversion it asks for
# and its own request id (taken as the global request id).
ALLOW_HEADERS = [
    'X-Auth-Token',
    'OpenStack-API-Version',
    'X-OpenStack-Nova-API-Version',
    'X-OpenStack-Request-ID',
]

ALLOW_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD']


def register_opts(conf):
    conf.register_opts(cors.OPTS, group=GROUP)
    set_defaults(conf)


def set_defaults(conf=None):
    # oslo.middleware keeps these defaults on its option objects, shared by
    # every configuration object; ``conf`` is accepted for symmetry.
    cors.set_defaults(expose_headers=EXPOSE_HEADERS,
                      allow_headers=ALLOW_HEADERS,
                      allow_methods=ALLOW_METHODS)


def list_opts():
    # Listed by the oslo.middleware namespace of the generator already.
    return {}

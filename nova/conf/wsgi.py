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

"""Options of the [wsgi] group: the HTTP server of nova-api (and of the
embedded placement and nova-aio, which use the same server)."""

from oslo_config import cfg

# The built-in HTTP server that nova-api, nova-aio and the embedded
# placement run their WSGI applications on. (No group help: oslo.config's
# Sphinx extension renders a group's help as directive arguments.)
wsgi_group = cfg.OptGroup(
    'wsgi',
    title='WSGI server options')

wsgi_opts = [
    cfg.IntOpt('backlog',
               default=4096,
               min=1,
               help="Connections the kernel queues for the server before "
                    "it accepts them (the listen() backlog). A burst of "
                    "more new connections than this may be refused or "
                    "reset. Linux caps it at net.core.somaxconn."),
    cfg.IntOpt('default_pool_size',
               default=100,
               min=1,
               help="Worker threads that answer requests, at most. One "
                    "request holds a worker until its answer is sent; "
                    "connections accepted while all are busy wait for a "
                    "free one, and connections not yet accepted wait in "
                    "the backlog. Each worker is an operating system "
                    "thread, created when first needed."),
]


def register_opts(conf):
    conf.register_group(wsgi_group)
    conf.register_opts(wsgi_opts, group=wsgi_group)


def list_opts():
    return {wsgi_group: wsgi_opts}

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

"""The configuration of nova-vpmem: every option group, registered once.

Code reads options through ``nova.conf.CONF``. Each group lives in its own
module with a ``register_opts(conf)`` and a ``list_opts()`` for the sample
configuration generator.
"""

from oslo_config import cfg

from nova.conf import api
from nova.conf import compute
from nova.conf import cors
from nova.conf import database
from nova.conf import default
from nova.conf import libvirt
from nova.conf import placement
from nova.conf import privsep
from nova.conf import scheduler
from nova.conf import wsgi

CONF = cfg.CONF

_MODULES = (default, api, compute, database, libvirt, placement, cors,
            privsep, scheduler, wsgi)


def register_all(conf):
    for module in _MODULES:
        module.register_opts(conf)


def set_library_defaults(conf):
    """(Re)apply our defaults for options other libraries define.

    ``ConfigOpts.reset()`` forgets defaults set with ``set_default``, so
    anything that resets the configuration (test fixtures) calls this.
    """
    database.set_defaults(conf)
    placement.set_defaults(conf)
    cors.set_defaults(conf)


register_all(CONF)

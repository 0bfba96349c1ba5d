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

"""Entry points for oslo-config-generator and the Sphinx config reference."""

import collections

from nova.conf import _MODULES


def list_opts():
    """Return ``[(group, [opts])]`` for every option nova-vpmem defines."""
    merged = collections.OrderedDict()
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            merged.setdefault(group, []).extend(opts)
    return [(group, opts) for group, opts in merged.items() if opts]


def set_defaults(conf=None):
    """Apply nova-vpmem's defaults for library options (oslo.db, ksa).

    oslo-config-generator calls this without arguments.
    """
    import nova.conf
    nova.conf.set_library_defaults(conf or nova.conf.CONF)

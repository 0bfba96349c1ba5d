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

"""Nova-vpmem: Nova-style compute with live migration of vpmem."""

import importlib.abc
import sys


class _RefuseEventlet(importlib.abc.MetaPathFinder):
    """Make ``import eventlet`` fail in every nova process.

    The services run on native threads. Libraries still probe for
    eventlet (futurist, oslo.utils, oslo.log: ``try: import eventlet``)
    and, once it is imported, take green code paths and pull in
    dnspython, which prints deprecation warnings with a current
    cryptography. eventlet stays installed only because oslo.service
    requires it; refusing it here makes every probe take the threading
    path.
    """

    REFUSED = 'eventlet'

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition('.')[0] == self.REFUSED:
            raise ModuleNotFoundError(
                'nova runs on native threads; eventlet is not to be '
                'imported in a nova process', name=fullname)
        return None


def _refuse_eventlet():
    if not any(isinstance(finder, _RefuseEventlet)
               for finder in sys.meta_path):
        sys.meta_path.insert(0, _RefuseEventlet())


def _select_threading_backend():
    # oslo.messaging imports oslo_service.service, which builds its
    # classes from oslo.service's backend on import; the default backend
    # is eventlet. Choosing threading here, before any nova module can
    # import oslo.messaging, keeps that default from ever loading.
    from oslo_service import backend
    if backend.get_backend_type() is None:
        backend.init_backend(backend.BackendType.THREADING)


# Our console scripts and WSGI modules import nova first. A tool that
# loaded oslo.messaging before importing nova (oslo-config-generator,
# Sphinx) already runs eventlet's backend: leave such a process as it is.
if 'eventlet' not in sys.modules:
    _refuse_eventlet()
    _select_threading_backend()

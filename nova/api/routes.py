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

"""The route table of the compute API: which handler serves which path.

Each handler module lists its routes in ``ROUTES``; :func:`build_router`
collects them under ``/v2.1``.
"""

import re

from nova.api.handlers import aggregates
from nova.api.handlers import flavor_access
from nova.api.handlers import flavors
from nova.api.handlers import hypervisors
from nova.api.handlers import images
from nova.api.handlers import instance_actions
from nova.api.handlers import keypairs
from nova.api.handlers import migrations
from nova.api.handlers import server_migrations
from nova.api.handlers import servers
from nova.api.handlers import services
from nova.api import http

# Matched in this order: the first route whose path and method fit wins.
HANDLER_MODULES = (servers, server_migrations, instance_actions,
                   migrations, flavors, flavor_access, services,
                   hypervisors, aggregates, images, keypairs)


class Router:
    """Path templates like ``/servers/{id}`` mapped to handlers.

    A route may be limited to a microversion range, ``(first, last)``
    with None for an open end: outside it the route does not exist (404,
    as in Nova), and another route of the same path may serve instead.
    """

    def __init__(self):
        self._routes = []  # (compiled path, template, method, handler, range)

    def add(self, method, template, handler, versions=(None, None)):
        pattern = '^' + re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)',
                               template.rstrip('/')) + '/?$'
        self._routes.append((re.compile(pattern), template, method, handler,
                             tuple(versions)))

    def routes(self):
        """``(method, template, first, last)`` of every route, in order."""
        return [(method, template) + versions
                for _regex, template, method, _handler, versions
                in self._routes]

    def match(self, method, path, version):
        """(handler, params) or raise HTTPError 404/405."""
        allowed = set()
        other_version = False
        for regex, _template, route_method, handler, (first, last) in (
                self._routes):
            found = regex.match(path)
            if not found:
                continue
            if ((first is not None and version < first) or
                    (last is not None and version > last)):
                # Nova: a method of another microversion is not found here
                # (404), not a method the path never takes (405).
                other_version = other_version or route_method == method
                continue
            allowed.add(route_method)
            if route_method == method or (method == 'HEAD' and
                                          route_method == 'GET'):
                return handler, found.groupdict()
        if allowed and not other_version:
            raise http.HTTPError(
                405, 'Method %s is not allowed on %s.' % (method, path),
                headers=[('Allow', ', '.join(sorted(allowed)))])
        raise http.HTTPError(404, 'No resource at %s.' % path)


def build_router():
    router = Router()
    for module in HANDLER_MODULES:
        for route in module.ROUTES:
            # (method, template, handler[, (first, last) microversions])
            method, template, handler = route[:3]
            router.add(method, '/v2.1' + template, handler, *route[3:])
    return router

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

"""The compute API as a WSGI application.

A small router sends each request to a handler in :mod:`nova.api.handlers`
(one module per resource). Around the handlers this module does what every
request needs: the request id, authentication into a RequestContext,
microversion negotiation and the Nova-shaped error bodies.

Authentication (``[api]auth_strategy``):

* ``noauth2`` (development): the ``X-Auth-Token`` is trusted as given. A
  token ``user:project`` names the user and project; any other token is
  both the user and the project. The request is an administrator's when
  the user is ``admin`` or the token is ``notused`` -- what the openstack
  CLI sends with ``--os-auth-type none``, so an operator's CLI without
  Keystone can run the admin-only commands. No token: 401.
* ``keystone``: keystonemiddleware's auth_token validates the token in
  front of this application (see :func:`make_app`) and the identity comes
  from the headers it sets; the ``admin`` role makes an administrator.

Version discovery (``/``, ``/v2.1``, ``/v2.1/``) needs neither a token nor
a microversion.

Catalog endpoints may carry the project id (``/v2.1/{project_id}/...``, as
Nova's did for years): such a path reaches the same handler as the path
without it, the project must be the token's (400 otherwise, as Nova) and
the links of the response name it again (:func:`links`).
"""

import json
import re
from wsgiref import util as wsgi_util

from oslo_log import log as logging
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id as request_id_mw
from oslo_middleware import sizelimit
from oslo_utils import uuidutils
import webob

import nova.conf
from nova import context as nova_context
from nova import exception
from nova.api import microversion
from nova.api import versions

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

JSON_TYPE = 'application/json'
REQUEST_ID_HEADER = 'x-openstack-request-id'
# Nova's own name of the same header, which older clients read.
COMPUTE_REQUEST_ID_HEADER = 'x-compute-request-id'
# Where the request's path named a project: /v2.1/{project_id}/...
URL_PROJECT_KEY = 'nova.url_project_id'
_PROJECT_PATH_RE = re.compile(r'^(/%s)/([^/]+)(/.+)$'
                              % re.escape(versions.API_VERSION_ID))

# HTTP status -> the key of Nova's error body.
ERROR_KINDS = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    406: 'notAcceptable',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}

# Internal exceptions that mean "the instance is busy or in the wrong
# state": the user should retry later, so a conflict rather than their
# (unchanged) request being bad.
CONFLICT_ERRORS = (exception.InstanceInvalidState,
                   exception.UnexpectedTaskStateError)


class HTTPError(Exception):
    """Raised by handlers: answer with ``code`` and ``message``."""

    def __init__(self, code, message, headers=()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = list(headers)


def error_body(code, message):
    kind = ERROR_KINDS.get(code, 'computeFault')
    return {kind: {'code': code, 'message': message}}


def _json_response(status, body, headers=()):
    resp = webob.Response(status=status, headerlist=list(headers))
    if body is not None:
        resp.content_type = JSON_TYPE
        resp.charset = None
        resp.body = json.dumps(body).encode('utf-8')
    return resp


def error_response(code, message, headers=()):
    return _json_response(code, error_body(code, message), headers)


def from_nova_exception(error):
    """The HTTPError a NovaException stands for."""
    message = error.format_message()
    if isinstance(error, CONFLICT_ERRORS):
        return HTTPError(409, message)
    code = getattr(error, 'code', 500)
    if not isinstance(code, int) or code < 400:
        code = 500
    return HTTPError(code, message)


def authorize(req, action, target=None):
    """403 unless the policy rule ``action`` allows the request."""
    from nova.api import policy
    if not policy.authorize(req.context, action, target):
        raise HTTPError(403, 'Policy does not allow %s to be performed.'
                        % action)


def link_prefix(req, versioned=True):
    """The start of this API's URLs in links, as Nova builds them.

    The application URL, then the API version (self links; bookmarks go
    without it), then the project id when the request's path named one.
    """
    prefix = req.host_url + req.script_name
    if versioned:
        prefix += '/' + versions.API_VERSION_ID
    project_id = req.environ.get(URL_PROJECT_KEY)
    if project_id:
        prefix += '/' + project_id
    return prefix


def links(req, *path):
    """Nova's ``self`` and ``bookmark`` links of the resource at ``path``
    (its segments, e.g. ``'flavors', flavor_id``)."""
    tail = '/'.join(str(part) for part in path)
    return [{'rel': 'self', 'href': '%s/%s' % (link_prefix(req), tail)},
            {'rel': 'bookmark',
             'href': '%s/%s' % (link_prefix(req, versioned=False), tail)}]


def json_body(req):
    try:
        body = json.loads(req.body or b'null')
    except ValueError as e:
        raise HTTPError(400, 'Malformed request body: %s' % e)
    if not isinstance(body, dict):
        raise HTTPError(400, 'The request body must be a JSON object.')
    return body


def noauth_context(req):
    token = req.headers.get('X-Auth-Token')
    if not token:
        raise HTTPError(401, 'Authentication required: send X-Auth-Token.')
    if ':' in token:
        user_id, project_id = token.split(':', 1)
    else:
        user_id = project_id = token
    is_admin = user_id == 'admin' or token == 'notused'
    return nova_context.RequestContext(
        user_id=user_id, project_id=project_id, is_admin=is_admin,
        roles=['admin'] if is_admin else ['member'],
        request_id=req.environ['nova.request_id'],
        global_request_id=req.environ.get(request_id_mw.GLOBAL_REQ_ID))


def keystone_context(req):
    # auth_token sets these after validating the token.
    if req.headers.get('X-Identity-Status', 'Confirmed') != 'Confirmed':
        raise HTTPError(401, 'Authentication required.')
    roles = [r.strip() for r in req.headers.get('X-Roles', '').split(',')
             if r.strip()]
    return nova_context.RequestContext(
        user_id=req.headers.get('X-User-Id'),
        project_id=req.headers.get('X-Project-Id'),
        roles=roles, request_id=req.environ['nova.request_id'],
        global_request_id=req.environ.get(request_id_mw.GLOBAL_REQ_ID))


def check_url_project(context, project_id):
    """400 unless the project in the URL is the token's, as Nova answers
    (administrators included: the URL names the caller's own project)."""
    if project_id != context.project_id:
        raise HTTPError(400, "Malformed request URL: URL's project_id '%s' "
                             "doesn't match Context's project_id '%s'. Use "
                             "the endpoint of your own project, or none."
                        % (project_id, context.project_id))


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
            raise HTTPError(
                405, 'Method %s is not allowed on %s.' % (method, path),
                headers=[('Allow', ', '.join(sorted(allowed)))])
        raise HTTPError(404, 'No resource at %s.' % path)


def build_router():
    # Imported here: handler modules import this module for HTTPError.
    from nova.api.handlers import aggregates
    from nova.api.handlers import flavor_access
    from nova.api.handlers import flavors
    from nova.api.handlers import hypervisors
    from nova.api.handlers import images
    from nova.api.handlers import instance_actions
    from nova.api.handlers import migrations
    from nova.api.handlers import server_migrations
    from nova.api.handlers import servers
    from nova.api.handlers import services
    router = Router()
    for module in (servers, server_migrations, instance_actions,
                   migrations, flavors, flavor_access, services,
                   hypervisors, aggregates, images):
        for route in module.ROUTES:
            # (method, template, handler[, (first, last) microversions])
            method, template, handler = route[:3]
            router.add(method, '/v2.1' + template, handler, *route[3:])
    return router


class APIApplication:
    """WSGI entry point of the compute API."""

    def __init__(self, auth_strategy=None):
        self.auth_strategy = auth_strategy or CONF.api.auth_strategy
        self._documents = {
            '/': versions.versions_document,
            '/%s' % versions.API_VERSION_ID: versions.version_document,
            '/%s/' % versions.API_VERSION_ID: versions.version_document,
        }
        self.discovery_paths = frozenset(self._documents)
        self.router = build_router()

    def __call__(self, environ, start_response):
        # oslo.middleware's RequestId (make_app) names the request; the
        # bare application (tests, embedding) makes its own id.
        request_id = (environ.get(request_id_mw.ENV_REQUEST_ID) or
                      'req-' + uuidutils.generate_uuid())
        environ['nova.request_id'] = request_id
        req = webob.Request(environ)
        resp = self._handle(req)
        for header in (REQUEST_ID_HEADER, COMPUTE_REQUEST_ID_HEADER):
            resp.headers[header] = request_id
        # webob answers HEAD with the headers of GET and no body.
        return resp(environ, start_response)

    def _documents_response(self, req, build):
        if req.method not in ('GET', 'HEAD'):
            return error_response(405, 'Method %s is not allowed on %s.'
                                  % (req.method, req.path_info),
                                  headers=[('Allow', 'GET, HEAD')])
        base_url = wsgi_util.application_uri(req.environ)
        return _json_response(200, build(base_url))

    def _route(self, req, path):
        """(handler, params, project id named in the path or None)."""
        try:
            handler, params = self.router.match(req.method, path,
                                                req.version)
            return handler, params, None
        except HTTPError as e:
            found = e.code == 404 and _PROJECT_PATH_RE.match(path)
            if not found:
                raise
            not_found = e
        # Only when the path is nothing without it: /v2.1/servers/detail
        # is the server list, never the project "servers".
        version_prefix, project_id, rest = found.groups()
        try:
            handler, params = self.router.match(
                req.method, version_prefix + rest, req.version)
        except HTTPError as e:
            # Nothing with a project either: name the path as asked.
            raise not_found if e.code == 404 else e
        return handler, params, project_id

    def _handle(self, req):
        path = req.path_info or '/'
        build = self._documents.get(path)
        if build is not None:
            return self._documents_response(req, build)
        version_headers = []
        try:
            try:
                req.version = microversion.negotiate(req.headers)
            except microversion.VersionError as e:
                raise HTTPError(e.code, str(e))
            version_headers = microversion.response_headers(req.version)
            handler, params, project_id = self._route(req, path)
            if self.auth_strategy == 'noauth2':
                req.context = noauth_context(req)
            else:
                req.context = keystone_context(req)
            if project_id is not None:
                check_url_project(req.context, project_id)
                req.environ[URL_PROJECT_KEY] = project_id
            resp = handler(req, **params)
        except HTTPError as e:
            resp = error_response(e.code, e.message, e.headers)
        except exception.NovaException as e:
            e = from_nova_exception(e)
            resp = error_response(e.code, e.message)
        except Exception:
            LOG.exception('Unexpected error in %s %s', req.method, path)
            resp = error_response(
                500, 'Unexpected API Error. Please report this at '
                     'the project and attach the API log if possible.')
        if not isinstance(resp, webob.Response):
            status, body = resp
            resp = _json_response(status, body)
        for name, value in version_headers:
            resp.headers[name] = value
        return resp


class _DiscoveryBypass:
    """Send version discovery past auth_token: clients ask without a token.

    Everything else goes through ``authenticated`` (auth_token around the
    application).
    """

    def __init__(self, app, authenticated):
        self.app = app
        self.authenticated = authenticated

    def __call__(self, environ, start_response):
        if (environ.get('PATH_INFO') or '/') in self.app.discovery_paths:
            return self.app(environ, start_response)
        return self.authenticated(environ, start_response)


class ComputeRequestId(request_id_mw.RequestId):
    """oslo.middleware's request id, also as Nova's x-compute-request-id;
    an incoming X-OpenStack-Request-ID becomes the global request id."""

    compat_headers = [COMPUTE_REQUEST_ID_HEADER]


def make_app():
    """Build the WSGI application (called by nova-api and WSGI servers).

    Outermost first: oslo.middleware's HTTPProxyToWSGI (links follow the
    scheme and host a TLS proxy reports, with
    ``[oslo_middleware]enable_proxy_headers_parsing``), RequestId, and
    RequestBodySizeLimiter (413 past
    ``[oslo_middleware]max_request_body_size``); then, with
    ``[api]auth_strategy = keystone``, keystonemiddleware's auth_token
    (options in ``[keystone_authtoken]``); then the API.
    """
    app = APIApplication()
    pipeline = app
    if app.auth_strategy == 'keystone':
        from keystonemiddleware import auth_token
        # auth_token reads [keystone_authtoken] from our own configuration
        # object, so nova-api's --config-file options apply to it too.
        pipeline = _DiscoveryBypass(app, auth_token.AuthProtocol(
            app, {'oslo_config_config': CONF}))
    pipeline = sizelimit.RequestBodySizeLimiter(pipeline, CONF)
    pipeline = ComputeRequestId(pipeline, CONF)
    return http_proxy_to_wsgi.HTTPProxyToWSGI(pipeline, CONF)

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

A small router (:mod:`nova.api.routes`) sends each request to a handler
in :mod:`nova.api.handlers` (one module per resource). Around the
handlers this module does what every request needs: the request id,
authentication into a RequestContext, microversion negotiation and the
Nova-shaped error bodies (:mod:`nova.api.http`).

Authentication (``[api]auth_strategy``):

* ``noauth2`` (development): the ``X-Auth-Token`` is trusted as given. A
  token ``user:project`` names the user and project; any other token is
  both the user and the project. Its roles are ``member`` and
  ``reader``, plus ``admin`` when the user is ``admin`` or the token is
  ``notused`` -- what the openstack CLI sends with ``--os-auth-type
  none``, so an operator's CLI without Keystone can run the admin-only
  commands (the ``context_is_admin`` policy rule decides, as with
  Keystone). No token: 401.
* ``keystone``: keystonemiddleware's auth_token validates the token in
  front of this application (see :func:`make_app`) and the identity comes
  from the headers it sets; the ``context_is_admin`` policy rule
  (``role:admin`` by default) decides who is an administrator.

Version discovery (``/``, ``/v2.1``, ``/v2.1/``) needs neither a token nor
a microversion.

Catalog endpoints may carry the project id (``/v2.1/{project_id}/...``, as
Nova's did for years): such a path reaches the same handler as the path
without it, the project must be the token's (400 otherwise, as Nova) and
the links of the response name it again (:func:`nova.api.http.links`).
"""

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
from nova.api import http
from nova.api import microversion
from nova.api import routes
from nova.api import versions

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

REQUEST_ID_HEADER = 'x-openstack-request-id'
# Nova's own name of the same header, which older clients read.
COMPUTE_REQUEST_ID_HEADER = 'x-compute-request-id'
_PROJECT_PATH_RE = re.compile(r'^(/%s)/([^/]+)(/.+)$'
                              % re.escape(versions.API_VERSION_ID))

def noauth_context(req):
    token = req.headers.get('X-Auth-Token')
    if not token:
        raise http.HTTPError(401,
                             'Authentication required: send X-Auth-Token.')
    if ':' in token:
        user_id, project_id = token.split(':', 1)
    else:
        user_id = project_id = token
    # Roles as a Keystone token carries them, implied ones included;
    # context_is_admin decides from them who is an administrator.
    roles = ['member', 'reader']
    if user_id == 'admin' or token == 'notused':
        roles.insert(0, 'admin')
    return nova_context.RequestContext(
        user_id=user_id, project_id=project_id, roles=roles,
        request_id=req.environ['nova.request_id'],
        global_request_id=req.environ.get(request_id_mw.GLOBAL_REQ_ID))


def keystone_context(req):
    # auth_token sets these after validating the token.
    if req.headers.get('X-Identity-Status', 'Confirmed') != 'Confirmed':
        raise http.HTTPError(401, 'Authentication required.')
    roles = [r.strip() for r in req.headers.get('X-Roles', '').split(',')
             if r.strip()]
    # A token scoped to the system or a domain has no project: the API
    # rules (project scope) refuse it.
    return nova_context.RequestContext(
        user_id=req.headers.get('X-User-Id'),
        project_id=req.headers.get('X-Project-Id'),
        system_scope=req.headers.get('OpenStack-System-Scope'),
        domain_id=req.headers.get('X-Domain-Id'),
        roles=roles, request_id=req.environ['nova.request_id'],
        global_request_id=req.environ.get(request_id_mw.GLOBAL_REQ_ID))


class APIApplication:
    """WSGI entry point of the compute API."""

    def __init__(self, auth_strategy=None):
        self.auth_strategy = auth_strategy or CONF.api.auth_strategy
        self._documents = {
            '/': versions.versions_document,
            '/%s' % versions.API_VERSION_ID: versions.version_document,
            '/%s/' % versions.API_VERSION_ID: versions.version_document,
            '/%s' % versions.LEGACY_PATH: versions.legacy_version_document,
            '/%s/' % versions.LEGACY_PATH: versions.legacy_version_document,
        }
        self.discovery_paths = frozenset(self._documents)
        self.router = routes.build_router()

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
            return http.error_response(405, 'Method %s is not allowed on %s.'
                                       % (req.method, req.path_info),
                                       headers=[('Allow', 'GET, HEAD')])
        base_url = wsgi_util.application_uri(req.environ)
        return http.json_response(200, build(base_url))

    def _route(self, req, path):
        """(handler, params, project id named in the path or None)."""
        try:
            handler, params = self.router.match(req.method, path,
                                                req.version)
            return handler, params, None
        except http.HTTPError as e:
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
        except http.HTTPError as e:
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
                raise http.HTTPError(e.code, str(e))
            version_headers = microversion.response_headers(req.version)
            handler, params, project_id = self._route(req, path)
            if self.auth_strategy == 'noauth2':
                req.context = noauth_context(req)
            else:
                req.context = keystone_context(req)
            if project_id is not None:
                http.check_url_project(req.context, project_id)
                req.environ[http.URL_PROJECT_KEY] = project_id
            resp = handler(req, **params)
        except http.HTTPError as e:
            resp = http.error_response(e.code, e.message, e.headers)
        except exception.NovaException as e:
            e = http.from_nova_exception(e)
            resp = http.error_response(e.code, e.message)
        except Exception:
            LOG.exception('Unexpected error in %s %s', req.method, path)
            resp = http.error_response(
                500, 'Unexpected API Error. Please report this at '
                     'the project and attach the API log if possible.')
        if not isinstance(resp, webob.Response):
            status, body = resp
            resp = http.json_response(status, body)
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
    (options in ``[keystone_authtoken]``); then the API. With
    ``[cors]allowed_origin`` set, oslo.middleware's CORS comes first of
    all, so a browser's preflight is answered before authentication.
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
    pipeline = http_proxy_to_wsgi.HTTPProxyToWSGI(pipeline, CONF)
    if CONF.cors.allowed_origin:
        from oslo_middleware import cors
        # Reads the [cors] options (defaults in nova.conf.cors) from CONF.
        pipeline = cors.CORS(pipeline, CONF)
    return pipeline

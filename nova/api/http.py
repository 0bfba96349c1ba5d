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

"""What API handlers need from HTTP: errors, request bodies, links.

Handlers raise :class:`HTTPError`; the application
(:mod:`nova.api.wsgi`) turns it into Nova's error body. This module sits
below both, so it imports neither the application nor the route table.
"""

import json

import webob

from nova import exception
from nova.api import policy
from nova.api import versions

JSON_TYPE = 'application/json'
# Where the request's path named a project: /v2.1/{project_id}/...
URL_PROJECT_KEY = 'nova.url_project_id'

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


def json_response(status, body, headers=()):
    resp = webob.Response(status=status, headerlist=list(headers))
    if body is not None:
        resp.content_type = JSON_TYPE
        resp.charset = None
        resp.body = json.dumps(body).encode('utf-8')
    return resp


def error_response(code, message, headers=()):
    return json_response(code, error_body(code, message), headers)


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


def check_url_project(context, project_id):
    """400 unless the project in the URL is the token's, as Nova answers
    (administrators included: the URL names the caller's own project)."""
    if project_id != context.project_id:
        raise HTTPError(400, "Malformed request URL: URL's project_id '%s' "
                             "doesn't match Context's project_id '%s'. Use "
                             "the endpoint of your own project, or none."
                        % (project_id, context.project_id))

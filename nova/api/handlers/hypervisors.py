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

"""``/os-hypervisors``: the compute nodes (admin only), as Nova has them.

* ``GET /os-hypervisors`` and ``/detail``: ``limit``/``marker`` from 2.33
  (``hypervisors_links`` when a page is full); from 2.53
  ``hypervisor_hostname_pattern`` and ``with_servers``.
* ``GET /os-hypervisors/{id}``; with ``uptime`` from 2.88.
* Until 2.87: ``/statistics`` and ``/{id}/uptime``.
* Until 2.52: ``/{pattern}/search`` and ``/{pattern}/servers`` (404 when
  no hypervisor host name contains the pattern).

The views themselves are in nova.api.handlers.hypervisor_views.
"""

from urllib import parse as urlparse

import oslo_messaging as messaging
from oslo_utils import uuidutils

from nova.api.handlers import hypervisor_views as views
from nova.api.handlers import query_params
from nova.api import http
from nova.compute import rpcapi as compute_rpcapi
import nova.conf
from nova import exception
from nova import objects
from nova.objects import service as service_obj
from nova import servicegroup

CONF = nova.conf.CONF

RULE = 'os_compute_api:os-hypervisors:%s'

PAGING_VERSION = (2, 33)
UUID_VERSION = views.UUID_VERSION
LAST_WITH_STATISTICS = (2, 87)
LAST_WITH_SEARCH = (2, 52)

# (first microversion, query parameters index/detail know from there)
LIST_QUERY = (
    (PAGING_VERSION, ('limit', 'marker')),
    (UUID_VERSION, ('hypervisor_hostname_pattern', 'with_servers')),
)
SHOW_QUERY = ((UUID_VERSION, ('with_servers',)),)


def _known(query_table, version):
    return tuple(name for first, names in query_table if version >= first
                 for name in names)


class _Hosts:
    """The compute services and instances of the nodes one request shows."""

    def __init__(self, context):
        self.context = context
        self.services = {
            s.host: s for s in objects.ServiceList.get_all(context)
            if s.binary == service_obj.COMPUTE_BINARY}

    def service(self, node):
        return self.services.get(node.host)

    def up(self, node):
        service = self.service(node)
        return service is not None and servicegroup.service_is_up(service)

    def instances(self, node):
        return objects.InstanceList.get_by_host_and_node(
            self.context, node.host, node.hypervisor_hostname)


def _summary(req, hosts, node):
    return views.summary_view(node, hosts.service(node), hosts.up(node),
                              req.version)


def _detail(req, hosts, node, instances):
    return views.detail_view(node, hosts.service(node), hosts.up(node),
                             req.version, instances)


def _bool_param(req, name):
    text = query_params.last(req, name)
    if text is None:
        return False
    try:
        return query_params.to_bool(text)
    except ValueError:
        raise http.HTTPError(400, 'Invalid %s value %r: give true or false.'
                             % (name, text))


def _page(req, nodes):
    """``(nodes of this page, the limit asked for or None)``."""
    if req.version < PAGING_VERSION:
        return nodes, None
    limit = query_params.limit(req)
    marker = query_params.last(req, 'marker')
    if marker is not None:
        ids = [str(views.node_id(n, req.version)) for n in nodes]
        if marker not in ids:
            raise http.HTTPError(400, 'Invalid marker %s: no hypervisor has '
                                      'that id.' % marker)
        nodes = nodes[ids.index(marker) + 1:]
    if limit is not None:
        nodes = nodes[:limit]
    return nodes, limit


def _next_links(req, shown, limit, detail):
    if not limit or len(shown) < limit:
        return []
    params = [(k, v) for k, v in req.GET.items() if k != 'marker']
    params.append(('marker', views.node_id(shown[-1], req.version)))
    href = '%s/os-hypervisors%s?%s' % (
        http.link_prefix(req), '/detail' if detail else '',
        urlparse.urlencode(params))
    return [{'rel': 'next', 'href': href}]


def _matching(context, pattern):
    """The nodes whose hypervisor host name contains ``pattern``; 404."""
    nodes = [n for n in objects.ComputeNodeList.get_all(context)
             if pattern in (n.hypervisor_hostname or '')]
    if not nodes:
        raise http.HTTPError(404, "No hypervisor matching '%s' could be "
                                  "found." % pattern)
    return nodes


def _list(req, detail):
    http.authorize(req, RULE % ('list-detail' if detail else 'list'))
    query_params.check_known(req, _known(LIST_QUERY, req.version))
    pattern = with_servers = None
    if req.version >= UUID_VERSION:
        pattern = query_params.last(req, 'hypervisor_hostname_pattern')
        with_servers = _bool_param(req, 'with_servers')
    if pattern is not None:
        if (query_params.last(req, 'limit') is not None or
                query_params.last(req, 'marker') is not None):
            raise http.HTTPError(
                400, 'Paging over hypervisors with the '
                     'hypervisor_hostname_pattern query parameter is not '
                     'supported: drop limit and marker, or the pattern.')
        nodes, limit = _matching(req.context, pattern), None
    else:
        nodes, limit = _page(
            req, list(objects.ComputeNodeList.get_all(req.context)))
    hosts = _Hosts(req.context)
    shown = []
    for node in nodes:
        instances = (hosts.instances(node) if detail or with_servers
                     else [])
        body = (_detail(req, hosts, node, instances) if detail
                else _summary(req, hosts, node))
        shown.append(views.add_servers(body, instances, req.version,
                                       with_servers))
    result = {'hypervisors': shown}
    links = _next_links(req, nodes, limit, detail)
    if links:
        result['hypervisors_links'] = links
    return 200, result


def index(req):
    return _list(req, False)


def detail(req):
    return _list(req, True)


def _get_node(req, hypervisor_id):
    """The node ``hypervisor_id`` names at this microversion; 400/404."""
    not_found = http.HTTPError(404, "Hypervisor with ID '%s' could not be "
                                    "found." % hypervisor_id)
    try:
        if req.version >= UUID_VERSION:
            if not uuidutils.is_uuid_like(hypervisor_id):
                raise http.HTTPError(
                    400, 'Invalid uuid %s: from microversion 2.53 a '
                         'hypervisor is named by its uuid.' % hypervisor_id)
            return objects.ComputeNode.get_by_uuid(req.context,
                                                   hypervisor_id)
        try:
            node_id = int(hypervisor_id)
        except ValueError:
            raise not_found
        return objects.ComputeNode.get_by_id(req.context, node_id)
    except exception.ComputeNodeNotFound:
        raise not_found


def _uptime(req, hosts, node):
    """``node``'s host uptime, asked over RPC; 400 down, 501 unsupported."""
    if not hosts.up(node):
        raise http.HTTPError(400, 'Compute service of %s is unavailable at '
                                  'this time.' % node.host)
    try:
        return compute_rpcapi.ComputeAPI().get_host_uptime(req.context,
                                                           node.host)
    except exception.RPCPinnedToOldVersion as err:
        raise http.HTTPError(501, err.format_message())
    except messaging.RemoteError as err:
        if err.exc_type == 'NotImplementedError':
            raise http.HTTPError(501, 'The virt driver of %s does not '
                                      'report uptime.' % node.host)
        raise
    except messaging.MessagingTimeout:
        raise http.HTTPError(400, 'Compute service of %s did not answer.'
                             % node.host)


def show(req, hypervisor_id):
    http.authorize(req, RULE % 'show')
    if hypervisor_id == 'statistics':
        # The statistics call, gone in 2.88 (404 as in Nova), not an id.
        raise http.HTTPError(404, 'GET /os-hypervisors/statistics was '
                                  'removed in microversion 2.88: placement '
                                  'has the usage (openstack resource '
                                  'provider usage show).')
    query_params.check_known(req, _known(SHOW_QUERY, req.version))
    with_servers = (req.version >= UUID_VERSION and
                    _bool_param(req, 'with_servers'))
    node = _get_node(req, hypervisor_id)
    hosts = _Hosts(req.context)
    instances = hosts.instances(node)
    body = _detail(req, hosts, node, instances)
    if req.version >= views.NO_STATISTICS_VERSION:
        try:
            body['uptime'] = _uptime(req, hosts, node)
        except http.HTTPError:
            # Shown as unknown: the rest of the view is still true.
            body['uptime'] = None
    views.add_servers(body, instances, req.version, with_servers)
    return 200, {'hypervisor': body}


def uptime(req, hypervisor_id):
    http.authorize(req, RULE % 'uptime')
    node = _get_node(req, hypervisor_id)
    hosts = _Hosts(req.context)
    body = _summary(req, hosts, node)
    body['uptime'] = _uptime(req, hosts, node)
    return 200, {'hypervisor': body}


def statistics(req):
    http.authorize(req, RULE % 'statistics')
    hosts = _Hosts(req.context)
    # As Nova: the nodes of enabled compute services only.
    nodes = [n for n in objects.ComputeNodeList.get_all(req.context)
             if hosts.service(n) is not None and
             not hosts.service(n).disabled]
    return 200, views.statistics_view(
        (node, hosts.instances(node)) for node in nodes)


def search(req, pattern):
    http.authorize(req, RULE % 'search')
    hosts = _Hosts(req.context)
    return 200, {'hypervisors': [
        _summary(req, hosts, node)
        for node in _matching(req.context, pattern)]}


def servers(req, pattern):
    http.authorize(req, RULE % 'servers')
    hosts = _Hosts(req.context)
    return 200, {'hypervisors': [
        views.add_servers(_summary(req, hosts, node), hosts.instances(node),
                          req.version, True)
        for node in _matching(req.context, pattern)]}


ROUTES = [
    ('GET', '/os-hypervisors', index),
    ('GET', '/os-hypervisors/detail', detail),
    ('GET', '/os-hypervisors/statistics', statistics,
     (None, LAST_WITH_STATISTICS)),
    ('GET', '/os-hypervisors/{hypervisor_id}', show),
    ('GET', '/os-hypervisors/{hypervisor_id}/uptime', uptime,
     (None, LAST_WITH_STATISTICS)),
    ('GET', '/os-hypervisors/{pattern}/search', search,
     (None, LAST_WITH_SEARCH)),
    ('GET', '/os-hypervisors/{pattern}/servers', servers,
     (None, LAST_WITH_SEARCH)),
]

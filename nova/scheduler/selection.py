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

"""Choosing a host: allocation candidates from placement, then a claim.

The scheduler is a library the conductor calls, not a service of its own.
Placement answers which compute nodes can hold the request; this module
drops those whose service is down or disabled (or that the caller
excludes), orders the rest (spread over the equally good hosts, see
:func:`order`), and claims the instance's resources on one of
them. The claim is what makes the choice stick: two concurrent requests
for the last namespace cannot both succeed in placement.
"""

import dataclasses
import random

from oslo_log import log as logging

import nova.conf
from nova import exception
from nova import objects
from nova.objects import service as service_obj
from nova.scheduler.client import report
from nova.scheduler import request as sched_request
from nova import servicegroup
from nova.virt import hardware

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Selection:
    """One usable destination and what the instance would hold there."""

    host: str
    nodename: str
    compute_node_uuid: str
    # {rp_uuid: {rc: amount}}: what to write to placement for the claim.
    allocations: dict
    # Free units per resource class on the node before the claim.
    free: dict = dataclasses.field(default_factory=dict)
    # The records get_candidates read (None when built elsewhere), so a
    # caller need not look them up again per candidate.
    compute_node: 'objects.ComputeNode' = None
    service: 'objects.Service' = None


def get_candidates(context, reportclient, resources, ignore_hosts=(),
                   requested_host=None, requested_node=None, flavor=None):
    """Return usable Selections for ``resources``, best first.

    Raises NoValidHost naming the labels of ``flavor`` (the flavor
    ``resources`` came from) when no compute host offers a resource class
    it asks for at all, so that a mistyped hw:pmem label is told apart
    from namespaces that are all in use.
    """
    try:
        alloc_reqs, summaries = reportclient.get_allocation_candidates(
            context, resources)
    except exception.UnknownResourceClasses as err:
        raise exception.NoValidHost(reason=unoffered_reason(
            flavor, err.kwargs['resource_classes']))
    if not alloc_reqs:
        # Only when nothing fits: the usual path asks placement no more.
        unoffered = _classes_no_host_offers(context, reportclient, resources)
        if unoffered:
            raise exception.NoValidHost(reason=unoffered_reason(
                flavor, unoffered))
        return []
    # Two queries whatever the number of candidates (a lookup per
    # candidate made each request cost more the bigger the cloud).
    nodes, services = _nodes_and_services(context, requested_host)
    candidates = []
    for alloc_req in alloc_reqs:
        providers = list(alloc_req['allocations'])
        # One provider per compute node: the root holds everything here.
        rp_uuid = providers[0]
        node = nodes.get(rp_uuid)
        if node is None:
            LOG.debug('Provider %s is not a compute node we know', rp_uuid)
            continue
        if node.host in ignore_hosts:
            continue
        if requested_host and node.host != requested_host:
            continue
        if requested_node and node.hypervisor_hostname != requested_node:
            continue
        service = services.get(node.host)
        if not _service_usable(service, node.host):
            continue
        summary = summaries.get(rp_uuid, {}).get('resources', {})
        free = {rc: v['capacity'] - v['used'] for rc, v in summary.items()}
        candidates.append(Selection(
            host=node.host, nodename=node.hypervisor_hostname,
            compute_node_uuid=rp_uuid,
            allocations={rp: a['resources']
                         for rp, a in alloc_req['allocations'].items()},
            free=free, compute_node=node, service=service))
    return order(candidates, resources)


def order(candidates, resources, subset_size=None, rng=random):
    """Best first: the most free units of what was asked (so one host
    does not fill up while others idle).

    With ``subset_size`` ([filter_scheduler]host_subset_size) 1, ties go
    by host name: a reproducible order. Above 1, ties are shuffled and
    the first is drawn at random from the best ``subset_size``, so that
    concurrent requests, which all see the same free counts, do not all
    go for the same host; the rest follow best first, for the retries.
    """
    if subset_size is None:
        subset_size = CONF.filter_scheduler.host_subset_size
    ordered = sorted(candidates, key=lambda s: s.host)
    if subset_size > 1:
        rng.shuffle(ordered)
    # sort() is stable: the above decides only among equals.
    ordered.sort(key=lambda s: -sum(s.free.get(rc, 0) for rc in resources))
    if len(ordered) > 1 and subset_size > 1:
        first = rng.randrange(min(subset_size, len(ordered)))
        ordered.insert(0, ordered.pop(first))
    return ordered


def _nodes_and_services(context, requested_host=None):
    """``({node uuid: ComputeNode}, {host: nova-compute Service})``."""
    if requested_host:
        nodes = objects.ComputeNodeList.get_all_by_host(context,
                                                        requested_host)
    else:
        nodes = objects.ComputeNodeList.get_all(context)
    services = objects.ServiceList.get_by_binary(
        context, service_obj.COMPUTE_BINARY, include_disabled=True)
    return ({node.uuid: node for node in nodes},
            {service.host: service for service in services})


def _classes_no_host_offers(context, reportclient, resources):
    """Custom classes of ``resources`` no compute node has inventory of.

    Placement knows them (a host offered them once, say) but no provider
    has any now. [] when that cannot be told for sure.
    """
    wanted = {rc for rc in resources if rc.startswith('CUSTOM_')}
    if not wanted:
        return []
    offered = set()
    for node in objects.ComputeNodeList.get_all(context):
        try:
            _generation, inventories = reportclient.get_inventory(
                context, node.uuid)
        except exception.PlacementRequestFailed as err:
            if err.kwargs.get('status') == 404:
                continue  # not a provider (yet): it offers nothing
            return []
        except exception.NovaException:
            return []
        offered.update(inventories)
    return sorted(wanted - offered)


def unoffered_reason(flavor, resource_classes):
    """Why nothing fits when no host offers ``resource_classes`` at all."""
    label_of = {}
    if flavor is not None:
        for label in hardware.get_vpmem_labels(flavor):
            label_of.setdefault(hardware.pmem_resource_class(label), label)
    labelled = [rc for rc in resource_classes if rc in label_of]
    others = [rc for rc in resource_classes if rc not in label_of]
    reasons = []
    if labelled:
        plural = len(labelled) > 1
        reasons.append(
            'No compute host offers persistent memory label%s %s (resource '
            'class%s %s) that flavor %s asks for with %s=%s.' % (
                's' if plural else '',
                ', '.join(label_of[rc] for rc in labelled),
                'es' if plural else '', ', '.join(labelled), flavor.name,
                hardware.PMEM_EXTRA_SPEC,
                flavor.extra_specs.get(hardware.PMEM_EXTRA_SPEC)))
    if others:
        reasons.append('No compute host offers resource class%s %s.' % (
            'es' if len(others) > 1 else '', ', '.join(others)))
    return ' '.join(reasons)


def _service_usable(service, host):
    if service is None:
        LOG.debug('Skipping %s: it has no compute service', host)
        return False
    if service.disabled:
        LOG.debug('Skipping %s: its compute service is disabled', host)
        return False
    if not servicegroup.service_is_up(service):
        LOG.debug('Skipping %s: its compute service is down', host)
        return False
    return True


def claim(context, reportclient, selection, consumer_uuid, project_id,
          user_id, consumer_generation=None):
    """Claim ``selection`` for the consumer; False when placement refuses."""
    return reportclient.put_allocations(
        context, consumer_uuid, selection.allocations, project_id, user_id,
        consumer_generation, consumer_type=report.CONSUMER_TYPE_INSTANCE)


def select_and_claim(context, reportclient, flavor, instance,
                     ignore_hosts=(), requested_host=None):
    """Pick a host for ``instance`` and claim it in placement.

    Tries the candidates in order until one claim succeeds (another
    request may take the last namespace between the query and the claim).
    Raises NoValidHost with a reason a user can read.
    """
    resources = sched_request.resources_from_flavor(flavor)
    candidates = get_candidates(context, reportclient, resources,
                                ignore_hosts=ignore_hosts,
                                requested_host=requested_host,
                                flavor=flavor)
    for selection in candidates:
        if claim(context, reportclient, selection, instance.uuid,
                 instance.project_id, instance.user_id):
            LOG.info('Claimed %s on %s for instance %s',
                     sched_request.describe(resources), selection.host,
                     instance.uuid)
            return selection
    raise exception.NoValidHost(reason=no_host_reason(resources, flavor))


def no_host_reason(resources, flavor):
    pmem = {rc: n for rc, n in resources.items()
            if rc.startswith('CUSTOM_PMEM_NAMESPACE_')}
    if pmem:
        wanted = ' and '.join('%d free %s' % (n, rc)
                              for rc, n in sorted(pmem.items()))
        return ('No available compute host has %s (flavor %s asks '
                'hw:pmem=%s) together with %s.' %
                (wanted, flavor.name, flavor.extra_specs.get('hw:pmem'),
                 sched_request.describe(
                     {rc: n for rc, n in resources.items()
                      if rc not in pmem})))
    return ('No available compute host has %s.' %
            sched_request.describe(resources))

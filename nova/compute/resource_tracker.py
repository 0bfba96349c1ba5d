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

"""The resource tracker: which namespace belongs to which instance here.

Placement owns quantities (how many namespaces of a class an instance
holds); the resource tracker of a compute host owns identities (which of
its namespaces those are). A claim turns the instance's placement
allocations on this host into specific namespaces, exactly as many as
allocated. The assignments are rebuilt from the database on every update
(instances on this host, plus migrations into and out of it), so the
tracker never keeps state the database does not have.
"""

import collections
import threading

from oslo_log import log as logging

from nova import exception
from nova import objects
from nova.scheduler.client import report

LOG = logging.getLogger(__name__)

PMEM_RC_PREFIX = 'CUSTOM_PMEM_NAMESPACE_'


def _new_assignment_map():
    return collections.defaultdict(lambda: collections.defaultdict(set))


class ResourceTracker:
    """Tracks the compute nodes and namespaces of one compute host."""

    def __init__(self, host, driver, reportclient=None):
        self.host = host
        self.driver = driver
        self.reportclient = reportclient or report.SchedulerReportClient()
        # nodename -> objects.ComputeNode
        self.compute_nodes = {}
        # rp_uuid -> rc -> set(Resource): what the host offers.
        self.provider_resources = _new_assignment_map()
        # rp_uuid -> rc -> set(Resource): what instances and migrations hold.
        self.assigned_resources = _new_assignment_map()
        # One lock for claims and the periodic rebuild, so a rebuild never
        # sees a claim half-made.
        self._lock = threading.RLock()

    # -- the periodic update -----------------------------------------------

    def update_available_resource(self, context, nodename, startup=False):
        """Sync this node's record, assignments and placement inventory.

        At startup, refuse (AssignedResourceNotFound) when an instance or
        migration holds a namespace the host no longer offers: starting
        anyway would hand that namespace's data to nobody and could give
        its slot to someone else.
        """
        available = self.driver.get_available_resource(nodename)
        with self._lock:
            node = self._sync_compute_node(context, nodename, available)
            self._load_provider_resources(node)
            holders = self._populate_assigned_resources(context, nodename)
            self._check_resources(holders, only_warn=not startup)
            self.reportclient.set_inventory(
                context, node.uuid, nodename,
                self.driver.get_inventory(nodename))
            self._update_usage(context, node, nodename)
        return node

    def _sync_compute_node(self, context, nodename, available):
        node = self.compute_nodes.get(nodename)
        if node is None:
            try:
                node = objects.ComputeNode.get_by_host_and_nodename(
                    context, self.host, nodename)
            except exception.ComputeHostNodeNotFound:
                node = objects.ComputeNode(context, host=self.host,
                                           hypervisor_hostname=nodename)
                self._copy_available(node, available)
                node.create()
                LOG.info('Created compute node record %s for %s',
                         node.uuid, nodename)
                self.compute_nodes[nodename] = node
                return node
        self._copy_available(node, available)
        node.save()
        self.compute_nodes[nodename] = node
        return node

    @staticmethod
    def _copy_available(node, available):
        for key in ('vcpus', 'memory_mb', 'local_gb', 'hypervisor_type',
                    'hypervisor_version', 'cpu_info'):
            if key in available:
                setattr(node, key, available[key])

    def _load_provider_resources(self, node):
        offered = _new_assignment_map()
        for resource in self.driver.get_vpmem_resources(
                node.hypervisor_hostname, node.uuid):
            offered[resource.provider_uuid][resource.resource_class].add(
                resource)
        self.provider_resources.pop(node.uuid, None)
        self.provider_resources.update(offered)

    def _populate_assigned_resources(self, context, nodename):
        """Rebuild the assignments of this node from the database.

        Returns ``[(owner uuid, ResourceList)]`` of every holder found.
        """
        node = self.compute_nodes[nodename]
        holders = []  # (owner description, ResourceList)
        instances = objects.InstanceList.get_by_host_and_node(
            context, self.host, nodename,
            expected_attrs=['resources', 'migration_context'])
        for instance in instances:
            holders.append((instance.uuid, instance.resources))
        migrations = (objects.MigrationList.
                      get_in_progress_and_error_by_host_and_node(
                          context, self.host, nodename))
        for migration in migrations:
            ctx = self._migration_context_of(context, migration)
            if ctx is None:
                continue
            # The source keeps the old namespaces until the move ends; the
            # destination holds the new ones from its claim on.
            if (migration.source_compute == self.host and
                    migration.source_node == nodename):
                holders.append((migration.instance_uuid, ctx.old_resources))
            if (migration.dest_compute == self.host and
                    migration.dest_node == nodename):
                holders.append((migration.instance_uuid, ctx.new_resources))

        assigned = _new_assignment_map()
        for _owner, resources in holders:
            for resource in resources or []:
                # Another host's namespaces (in a context crossing hosts)
                # are not ours to track.
                if resource.provider_uuid != node.uuid:
                    continue
                assigned[resource.provider_uuid][
                    resource.resource_class].add(resource)
        self.assigned_resources.pop(node.uuid, None)
        self.assigned_resources.update(assigned)
        return holders

    @staticmethod
    def _migration_context_of(context, migration):
        try:
            instance = objects.Instance.get_by_uuid(
                context, migration.instance_uuid,
                expected_attrs=['migration_context'])
        except exception.InstanceNotFound:
            return None
        ctx = instance.migration_context
        if ctx is None or ctx.migration_id != migration.id:
            return None
        return ctx

    def _check_resources(self, holders, only_warn):
        our_providers = {n.uuid for n in self.compute_nodes.values()}
        for owner, resources in holders:
            for resource in resources or []:
                if resource.provider_uuid not in our_providers:
                    continue
                offered = self.provider_resources.get(
                    resource.provider_uuid, {})
                if resource in offered.get(resource.resource_class, ()):
                    continue
                err = exception.AssignedResourceNotFound(
                    instance_uuid=owner,
                    resource_class=resource.resource_class,
                    name=resource.identifier)
                if not only_warn:
                    raise err
                LOG.error('%s', err)

    def _update_usage(self, context, node, nodename):
        instances = objects.InstanceList.get_by_host_and_node(
            context, self.host, nodename)
        node.vcpus_used = sum(i.vcpus or 0 for i in instances)
        node.memory_mb_used = sum(i.memory_mb or 0 for i in instances)
        node.local_gb_used = sum((i.root_gb or 0) + (i.ephemeral_gb or 0)
                                 for i in instances)
        node.save()

    # -- claims ------------------------------------------------------------

    def instance_claim(self, context, instance, nodename, allocations):
        """Assign this host's namespaces to a new instance.

        ``allocations`` is the instance's placement allocation document
        (``{rp_uuid: {'resources': {rc: amount}}}``). Sets and saves
        ``instance.resources``, ``host`` and ``node``. Raises
        ComputeResourcesUnavailable, assigning nothing, when there are not
        enough free namespaces.
        """
        with self._lock:
            node = self.compute_nodes[nodename]
            claimed = self._claim_resources(node.uuid, allocations)
            instance.resources = claimed
            instance.host = self.host
            instance.node = nodename
            instance.launched_on = self.host
            try:
                instance.save()
            except Exception:
                self._release(claimed)
                raise
        LOG.info('Assigned namespaces %s to instance %s',
                 sorted(r.identifier for r in claimed), instance.uuid)
        return claimed

    def move_claim(self, context, instance, nodename, migration,
                   allocations):
        """Assign namespaces for an instance moving to this node.

        For a live or a cold migration alike. The choice follows the
        instance's placement allocations on this node. It is saved in the
        instance's migration context (``new_resources``; ``old_resources``
        are the source's) under the tracker's lock, so a concurrent
        rebuild from the database or a concurrent claim can never see it
        half-made. Raises
        ComputeResourcesUnavailable, keeping nothing, when the node lacks
        free namespaces.
        """
        with self._lock:
            node = self.compute_nodes[nodename]
            claimed = self._claim_resources(node.uuid, allocations)
            instance.migration_context = objects.MigrationContext(
                instance_uuid=instance.uuid, migration_id=migration.id,
                old_resources=instance.resources, new_resources=claimed)
            try:
                instance.save()
            except Exception:
                self._release(claimed)
                raise
        LOG.info('Assigned namespaces %s on %s to incoming instance %s '
                 '(migration %s)', sorted(r.identifier for r in claimed),
                 nodename, instance.uuid, migration.uuid)
        return claimed

    def drop_move_claim(self, context, instance, migration):
        """Release an incoming instance's namespaces; drop its context.

        For a move that never started copying (nothing was written to
        those namespaces yet). Returns what was released.
        """
        with self._lock:
            migration_context = instance.migration_context
            if (migration_context is None or
                    migration_context.migration_id != migration.id):
                return None
            released = migration_context.new_resources
            self._release(released)
            instance.drop_migration_context()
            instance.save()
        return released

    def _claim_resources(self, rp_uuid, allocations):
        wanted = {}
        for alloc_rp, alloc in (allocations or {}).items():
            if alloc_rp != rp_uuid:
                continue
            for rc, amount in alloc['resources'].items():
                if rc.startswith(PMEM_RC_PREFIX):
                    wanted[rc] = amount
        picked = []
        for rc, amount in sorted(wanted.items()):
            offered = self.provider_resources.get(rp_uuid, {}).get(rc, set())
            taken = self.assigned_resources[rp_uuid][rc]
            free = sorted(offered - taken, key=lambda r: r.identifier)
            if len(free) < amount:
                raise exception.ComputeResourcesUnavailable(
                    reason='%(rc)s: %(amount)d requested, %(free)d of '
                           '%(total)d free on %(host)s' %
                           {'rc': rc, 'amount': amount, 'free': len(free),
                            'total': len(offered), 'host': self.host})
            picked.extend(free[:amount])
        for resource in picked:
            self.assigned_resources[rp_uuid][resource.resource_class].add(
                resource)
        return objects.ResourceList(objects=picked)

    def release_resources(self, resources):
        """Give namespaces back. Callers erase them first."""
        with self._lock:
            self._release(resources)

    def _release(self, resources):
        for resource in resources or []:
            self.assigned_resources[resource.provider_uuid][
                resource.resource_class].discard(resource)

    # -- views for the operator and tests -----------------------------------

    def free_resources(self, nodename, resource_class):
        node = self.compute_nodes[nodename]
        offered = self.provider_resources.get(node.uuid, {}).get(
            resource_class, set())
        return offered - self.assigned_resources[node.uuid][resource_class]

    def assigned_identifiers(self, nodename):
        """``{rc: sorted namespace names}`` assigned on a node."""
        node = self.compute_nodes[nodename]
        return {rc: sorted(r.identifier for r in resources)
                for rc, resources in
                self.assigned_resources.get(node.uuid, {}).items()
                if resources}


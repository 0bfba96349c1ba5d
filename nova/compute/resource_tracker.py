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
its namespaces those are) and their lifecycle (free, assigned, erasing,
quarantined), which it keeps in the database per namespace through
:mod:`nova.compute.namespace_lifecycle`. A claim turns the instance's
placement allocations on this host into specific free namespaces, exactly
as many as allocated; giving them up erases them, and only a verified
erase makes them free again. Every update converges the records on what
the host offers and what the instance and migration records hold.
"""

from concurrent import futures
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from nova.compute import namespace_lifecycle as lifecycle
from nova.compute import placement_work
import nova.conf
from nova import exception
from nova import objects
from nova.objects import fields
from nova.scheduler.client import report

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

State = fields.VPMEMNamespaceState

# A migration's statuses while its conductor checks destinations (live,
# cold): only then may a destination record a claim for it.
CLAIMING_STATUSES = (fields.MigrationStatus.ACCEPTED,
                     fields.MigrationStatus.PRE_MIGRATING)


class PendingGiveUp:
    """Namespaces marked ``erasing`` whose erase has not run yet."""

    def __init__(self, result, wanted, instance_uuid, migration):
        self.result = result  # a namespace_lifecycle.GiveUpResult
        self.wanted = wanted  # the Resources to erase
        self.instance_uuid = instance_uuid
        self.migration = migration


class ResourceTracker:
    """Tracks the compute nodes and namespaces of one compute host."""

    def __init__(self, host, driver, reportclient=None):
        self.host = host
        self.driver = driver
        self.reportclient = reportclient or report.SchedulerReportClient()
        # nodename -> objects.ComputeNode
        self.compute_nodes = {}
        # rp_uuid -> {key: Resource}: the namespaces the host offers.
        self.provider_resources = {}
        # One lock for claims, state changes and the periodic update, so
        # an update never sees a claim half-made.
        self._lock = threading.RLock()
        self.namespaces = lifecycle.NamespaceLifecycle(
            host, driver, self.reportclient, self._lock)
        # The erases nobody waits for (a live migration's source): a few
        # at a time, in threads made on first use.
        self._erase_worker = futures.ThreadPoolExecutor(
            max_workers=CONF.compute.vpmem_background_erase_workers,
            thread_name_prefix='vpmem-erase-%s' % host)
        self._background_erases = set()
        self._background_lock = threading.Lock()

    # -- the periodic update -----------------------------------------------

    def update_available_resource(self, context, nodename, startup=False):
        """Sync this node's record, namespace states and placement.

        At startup, refuse (AssignedResourceNotFound) when an instance or
        migration holds a namespace the host no longer offers: starting
        anyway would hand that namespace's data to nobody and could give
        its slot to someone else.
        """
        available = self.driver.get_available_resource(nodename)
        with self._lock:
            node = self._sync_compute_node(context, nodename, available)
            self._load_provider_resources(node)
            holders = lifecycle.find_holders(context, self.host, nodename,
                                             node.uuid)
            self._update_usage(node, holders.instances)
            self._check_held_are_offered(node, holders, only_warn=not startup)
            self.namespaces.reconcile(
                context, node, self.provider_resources[node.uuid], holders)
            self.reportclient.set_inventory(
                context, node.uuid, nodename,
                self.driver.get_inventory(nodename))
        self._drop_interrupted_moves(context)
        # Outside the lock: the quarantine consumer has a lock of its own,
        # taken before this one.
        self._sync_quarantine_hold(context, node)
        return node

    def _drop_interrupted_moves(self, context):
        """Drop the allocations of moves whose source erase was cut off.

        A live migration ends before its source's erase, whose worker
        drops the migration consumer's allocations once done. If the
        service stopped meanwhile, the reconcile quarantined those
        namespaces (the quarantine consumer counts them from now on), so
        the migration consumer must let go of them here.
        """
        with self._lock:
            moves = sorted(self.namespaces.interrupted_moves)
            self.namespaces.interrupted_moves.clear()
        for migration_uuid in moves:
            try:
                migration = objects.Migration.get_by_uuid(context,
                                                          migration_uuid)
            except exception.MigrationNotFound:
                continue
            if (migration.source_compute != self.host or
                    migration.status != fields.MigrationStatus.COMPLETED):
                continue  # not ours, or the move recovery settles it
            LOG.info('Dropping the source allocations of live migration %s '
                     '(its erase on %s was interrupted; the namespaces are '
                     'quarantined)', migration_uuid, self.host)
            placement_work.delete_allocations(context, self.reportclient,
                                              self.host, migration_uuid)

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
        # Saved with its usage, in one write, by _update_usage.
        self._copy_available(node, available)
        self.compute_nodes[nodename] = node
        return node

    @staticmethod
    def _copy_available(node, available):
        for key in ('vcpus', 'memory_mb', 'local_gb', 'hypervisor_type',
                    'hypervisor_version', 'cpu_info'):
            if key in available:
                _set_changed(node, key, available[key])
        # Each update: an operator may change my_ip and restart.
        if (not node.obj_attr_is_set('host_ip') or
                str(node.host_ip) != CONF.my_ip):
            node.host_ip = CONF.my_ip

    def _load_provider_resources(self, node):
        self.provider_resources[node.uuid] = {
            lifecycle.key_of(resource): resource
            for resource in self.driver.get_vpmem_resources(
                node.hypervisor_hostname, node.uuid)}

    def _check_held_are_offered(self, node, holders, only_warn):
        offered = self.provider_resources[node.uuid]
        for key, holder in sorted(holders.by_key.items()):
            if key in offered:
                continue
            _provider, rc, name = key
            for instance_uuid in sorted(holder):
                err = exception.AssignedResourceNotFound(
                    instance_uuid=instance_uuid, resource_class=rc,
                    name=name)
                if not only_warn:
                    raise err
                LOG.error('%s', err)

    def _sync_quarantine_hold(self, context, node):
        try:
            self.namespaces.sync_quarantine_hold(
                context, node.uuid, self.provider_resources[node.uuid])
        except exception.PlacementRequestFailed as err:
            if err.kwargs.get('status') != 409:
                raise
            # Placement still counts a quarantined namespace elsewhere (the
            # instance or migration that gave it up, until its recovery
            # drops that): the hold follows at a later update.
            LOG.info('Placement does not take the quarantined namespaces of '
                     '%s yet: %s', node.hypervisor_hostname,
                     err.format_message())
        except Exception:
            LOG.exception('Could not set the placement count of the '
                          'quarantined namespaces of %s; the next update '
                          'retries', node.hypervisor_hostname)

    @staticmethod
    def _update_usage(node, instances):
        """Save the node's figures and usage (from the instances the
        holders were read from: no second read)."""
        _set_changed(node, 'vcpus_used', sum(i.vcpus or 0 for i in instances))
        _set_changed(node, 'memory_mb_used',
                     sum(i.memory_mb or 0 for i in instances))
        _set_changed(node, 'local_gb_used',
                     sum((i.root_gb or 0) + (i.ephemeral_gb or 0)
                         for i in instances))
        # Most updates change nothing: then no write (and no write lock).
        if node.obj_what_changed():
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
            claimed = self._claim_resources(node.uuid, allocations,
                                            instance.uuid)
            instance.resources = claimed
            instance.host = self.host
            instance.node = nodename
            instance.launched_on = self.host
            try:
                instance.save()
            except Exception:
                self._unclaim(claimed, instance.uuid)
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
        update can never see it half-made. Raises
        ComputeResourcesUnavailable, keeping nothing, when the node lacks
        free namespaces, and MigrationDestinationChanged, keeping nothing,
        when the migration no longer names this host (a check that came
        after the conductor stopped waiting and tried another host).
        """
        with self._lock:
            node = self.compute_nodes[nodename]
            claimed = self._claim_resources(node.uuid, allocations,
                                            instance.uuid, migration.uuid)
            instance.migration_context = objects.MigrationContext(
                instance_uuid=instance.uuid, migration_id=migration.id,
                old_resources=instance.resources, new_resources=claimed)
            try:
                instance.save_claim(migration, self.host, CLAIMING_STATUSES)
            except Exception:
                self._unclaim(claimed, instance.uuid)
                raise
        LOG.info('Assigned namespaces %s on %s to incoming instance %s '
                 '(migration %s)', sorted(r.identifier for r in claimed),
                 nodename, instance.uuid, migration.uuid)
        return claimed

    def drop_move_claim(self, context, instance, migration):
        """Release an incoming instance's namespaces; drop its context.

        For a move that never started copying: nothing was written to
        those namespaces, which were verified clean when claimed, so they
        are free again without an erase. Returns what was released.
        """
        with self._lock:
            migration_context = instance.migration_context
            if (migration_context is None or
                    migration_context.migration_id != migration.id):
                return None
            released = migration_context.new_resources
            self._unclaim(released, instance.uuid)
            instance.drop_migration_context()
            instance.save()
        return released

    def _claim_resources(self, rp_uuid, allocations, instance_uuid,
                         migration_uuid=None):
        wanted = {}
        for alloc_rp, alloc in (allocations or {}).items():
            if alloc_rp != rp_uuid:
                continue
            for rc, amount in alloc['resources'].items():
                if rc.startswith(lifecycle.PMEM_RC_PREFIX):
                    wanted[rc] = amount
        picked = []
        try:
            for rc, amount in sorted(wanted.items()):
                picked.extend(self._pick(rp_uuid, rc, amount, instance_uuid,
                                         migration_uuid))
        except Exception:
            self._unclaim(picked, instance_uuid)
            raise
        return objects.ResourceList(objects=picked)

    def _pick(self, rp_uuid, rc, amount, instance_uuid, migration_uuid):
        offered = [resource for key, resource in sorted(
            self.provider_resources.get(rp_uuid, {}).items())
            if key[1] == rc]
        picked = []
        for resource in offered:
            if len(picked) == amount:
                break
            # A compare-and-swap in the database: a namespace someone
            # else changed meanwhile is simply not taken.
            if self.namespaces.assign(lifecycle.key_of(resource),
                                      instance_uuid, migration_uuid):
                picked.append(resource)
        if len(picked) < amount:
            self._unclaim(picked, instance_uuid)
            states = self.namespace_states(rp_uuid=rp_uuid)
            busy = sorted('%s %s' % (r.identifier,
                                     states.get(r.identifier, 'unknown'))
                          for r in offered
                          if states.get(r.identifier) != State.FREE)
            raise exception.ComputeResourcesUnavailable(
                reason='%(rc)s: %(amount)d requested, %(free)d of '
                       '%(total)d free on %(host)s (%(busy)s)' %
                       {'rc': rc, 'amount': amount,
                        'free': len(offered) - len(busy),
                        'total': len(offered), 'host': self.host,
                        'busy': ', '.join(busy) or 'none busy'})
        return picked

    def _unclaim(self, resources, instance_uuid):
        for resource in resources or ():
            if lifecycle.is_vpmem(resource):
                self.namespaces.unassign(lifecycle.key_of(resource),
                                         instance_uuid)

    # -- giving namespaces up ------------------------------------------------

    def keep_until_let_go(self, context, instance_uuid, migration,
                          final_status):
        """A move's side could not give its namespaces up: its guest
        would not go, or the instance record would not let go of them.

        They stay assigned, untouched, while a record names them, and
        the quarantine consumer counts them in placement from now on;
        the resource update quarantines and erases them once no record
        names them, and ``migration`` then ends ``final_status``. Never
        raises: without the note the update still finds them, but the
        migration then ends 'failed' (or stays 'error').
        """
        try:
            kept = self.namespaces.keep(context, instance_uuid,
                                        migration.uuid, final_status)
        except Exception:
            LOG.exception('Could not note the end of migration %s on the '
                          'namespaces of instance %s on %s', migration.uuid,
                          instance_uuid, self.host)
            return
        LOG.warning('Namespaces %s of instance %s on %s stay reserved until '
                    'the instance record no longer names them; then they '
                    'are erased and migration %s ends %s',
                    ', '.join(kept) or '(none newly)', instance_uuid,
                    self.host, migration.uuid, final_status)

    def give_up(self, context, resources, instance_uuid, giver,
                migration=None, final_status=None):
        """Erase the namespaces an instance or a migration gives up.

        Only a verified erase makes them free; one whose erase fails is
        quarantined (never assigned, counted in placement by the
        provider's quarantine consumer instead of ``giver``) and erased
        again later by :meth:`retry_erases`. ``final_status`` is the
        status ``migration`` takes once that retry succeeds. Returns a
        GiveUpResult; a failed erase does not raise.
        """
        return self.namespaces.give_up(context, resources, instance_uuid,
                                       giver, migration=migration,
                                       final_status=final_status)

    def start_give_up(self, resources, instance_uuid, migration=None,
                      final_status=None):
        """The first half of :meth:`give_up`, for an erase run later.

        The namespaces are ``erasing`` (nobody can claim them) when this
        returns. Hand the returned PendingGiveUp to
        :meth:`erase_in_background`.
        """
        result, wanted = self.namespaces.begin_give_up(
            resources, instance_uuid, migration=migration,
            final_status=final_status)
        return PendingGiveUp(result, wanted, instance_uuid, migration)

    def erase_in_background(self, context, pending, giver, then=None):
        """Erase what :meth:`start_give_up` marked, in the erase worker.

        The worker erases and verifies, frees or quarantines as
        :meth:`give_up` does, then calls ``then(GiveUpResult)``. Returns
        the future, or None when nothing needed an erase (then ``then``
        is not called: the caller goes on itself).
        """
        if not pending.wanted:
            return None

        def erase():
            given_up = self.namespaces.end_give_up(
                context, pending.wanted, pending.result,
                pending.instance_uuid, giver, migration=pending.migration)
            if then is not None:
                then(given_up)
            return given_up

        with self._background_lock:
            future = self._erase_worker.submit(self._logged, erase)
            self._background_erases.add(future)
        future.add_done_callback(self._forget_background)
        return future

    def _logged(self, work):
        try:
            return work()
        except Exception:
            # A namespace whose erase did not end stays 'erasing': the
            # next start of the service quarantines and erases it again.
            LOG.exception('A background erase on %s failed', self.host)
            raise

    def _forget_background(self, future):
        with self._background_lock:
            self._background_erases.discard(future)

    def wait_for_background_erases(self, timeout=None):
        """Wait for the erases in the worker; True if none is left."""
        with self._background_lock:
            pending = set(self._background_erases)
        if not pending:
            return True
        _done, not_done = futures.wait(pending, timeout=timeout)
        return not not_done

    def held_by(self, instance_uuid):
        """This host's namespaces assigned to an instance (as Resources).

        The records, not a copy in the instance, say which: a step re-run
        after a crash finds exactly what is still held. A move's side that
        gives its namespaces up (its source after the move, its
        destination after a rollback or a revert) gives up all of them.
        """
        held = []
        with self._lock:
            for rp_uuid, offered in self.provider_resources.items():
                for (rc, name), record in self.namespaces.records.get(
                        rp_uuid, {}).items():
                    if (record.state != State.ASSIGNED or
                            record.instance_uuid != instance_uuid):
                        continue
                    resource = offered.get((rp_uuid, rc, name))
                    if resource is not None:
                        held.append(resource)
        return objects.ResourceList(objects=held)

    def retry_erases(self, context, names=None):
        """Erase the quarantined namespaces that are due (or ``names``).

        Returns ``{name: True if free now}``. Run at start, by the
        periodic task and by ``nova-manage vpmem retry-erase``.
        """
        offered = {}
        with self._lock:
            for rp_uuid, resources in self.provider_resources.items():
                self.namespaces.refresh(context, rp_uuid)
                offered.update(resources)
            due = self.namespaces.due_for_retry(
                offered, timeutils.utcnow(), names=names)
        outcome = {}
        touched = set()
        for record in due:
            resource = offered[(record.compute_node_uuid,
                                record.resource_class, record.name)]
            outcome[record.name] = self.namespaces.retry_erase(context,
                                                               resource)
            touched.add(record.compute_node_uuid)
        for node in self.compute_nodes.values():
            if node.uuid in touched:
                self._sync_quarantine_hold(context, node)
        return outcome

    # -- views for the operator and tests -----------------------------------

    def namespace_states(self, nodename=None, rp_uuid=None):
        """``{name: state}`` of a node's namespace records."""
        if rp_uuid is None:
            rp_uuid = self.compute_nodes[nodename].uuid
        with self._lock:
            return {name: record.state for (_rc, name), record in
                    self.namespaces.records.get(rp_uuid, {}).items()}

    def free_resources(self, nodename, resource_class):
        node = self.compute_nodes[nodename]
        with self._lock:
            return {resource for key, resource in
                    self.provider_resources.get(node.uuid, {}).items()
                    if key[1] == resource_class and
                    self.namespaces.is_free(key)}

    def assigned_identifiers(self, nodename):
        """``{rc: sorted namespace names}`` assigned on a node."""
        node = self.compute_nodes[nodename]
        assigned = {}
        with self._lock:
            for (rc, name), record in self.namespaces.records.get(
                    node.uuid, {}).items():
                if record.state == State.ASSIGNED:
                    assigned.setdefault(rc, []).append(name)
        return {rc: sorted(names) for rc, names in assigned.items()}


def _set_changed(record, name, value):
    """Set a field only when it differs: a versioned object counts any
    assignment as a change, and a change is a database write."""
    if not record.obj_attr_is_set(name) or getattr(record, name) != value:
        setattr(record, name, value)

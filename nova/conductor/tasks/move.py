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

"""What every move of an instance to another host does in the conductor.

A live migration (``live_migrate.py``) and a cold migration
(``migrate.py``) both pick a destination and make sure it can take the
instance before the source touches anything:

1. cheap checks: the instance is in a state the move allows, both compute
   services are up, the hypervisors are compatible, both hosts run a
   service version that knows the move;
2. placement: in one atomic write, the instance's allocations on the
   source move to the migration consumer and the instance consumer claims
   the destination;
3. the destination assigns specific namespaces according to those
   placement allocations and records them in the migration context;
4. the source is told to start (a cast).

Placement comes before the destination's claim because the destination
picks namespaces from the instance's placement allocations there (which
the conductor hands it with the request, having just written them). Any
failure leaves placement as it found it: the instance consumer on the
source, no migration consumer, nothing on any destination.

:class:`MoveTask` holds those steps; a subclass says what its move checks
on the instance, which service version it needs, how the destination
claims (``_prepare_destination``) and how the source starts (``_start``).
"""

import collections

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import excutils

from nova.compute import placement_work
from nova.conductor.tasks import base
import nova.conf
from nova import exception
from nova import objects
from nova.objects import fields
from nova.objects import resource as resource_obj
from nova.scheduler import request as sched_request
from nova.scheduler import selection
from nova import servicegroup

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# A scheduled destination failing with one of these is skipped for the
# next candidate; anything else (placement unreachable, a bug) ends the
# task, since the next candidate would fail the same way.
_CANDIDATE_ERRORS = (exception.Invalid, exception.ComputeResourcesUnavailable,
                     messaging.MessagingException)


def vpmem_resource_classes(resources):
    """Count the vpmem namespaces in ``resources`` per resource class."""
    return collections.Counter(
        r.resource_class for r in resources or ()
        if r.resource_class.startswith(resource_obj.PMEM_NAMESPACE_RC_PREFIX))


def summed(per_provider):
    """Add up ``{rc: amount}`` dicts (one per resource provider)."""
    total = collections.Counter()
    for amounts in per_provider:
        total.update(amounts)
    return dict(total)


def describe(err):
    """A one-line reason for ``err``, for messages the user reads."""
    if isinstance(err, exception.MigrationPreCheckError):
        return err.kwargs.get('reason') or err.format_message()
    if isinstance(err, exception.NovaException):
        return err.format_message()
    if isinstance(err, messaging.RemoteError):
        # Its str() carries the remote traceback; the reason is enough.
        return '%s: %s' % (err.exc_type, err.value)
    return '%s: %s' % (type(err).__name__, err)


class MoveTask(base.TaskBase):
    """Choose and prepare the destination of a move, then start it.

    ``destination`` is the host the user asked for (or None); the
    scheduler validates it like any candidate. ``migration`` is the row
    the API created.
    """

    # 'live migration' / 'cold migration', for logs and messages.
    KIND = None
    # The verb in "cannot <verb> to any host".
    VERB = None
    # The task_state the API set and the rollback clears.
    TASK_STATE = None
    # The migration's statuses while this task owns it. Once it has any
    # other (its source's recovery took it over after
    # [compute]migration_stuck_timeout, or the user aborted it), the task
    # only undoes what it made itself: the destination's claim.
    OWNED_STATUSES = ()
    # A forced destination bypasses the scheduler (a live migration with
    # ``force``); a subclass that allows it sets this per request.
    force = False

    def __init__(self, context, instance, destination, migration,
                 compute_rpcapi, reportclient):
        super().__init__(context, instance)
        self.destination = destination
        self.migration = migration
        self.compute_rpcapi = compute_rpcapi
        self.reportclient = reportclient
        self.source = instance.host
        self.has_vpmem = False
        # The instance's allocation document as read before the claim.
        self._source_doc = None
        # What took effect, so that each undo touches exactly that.
        # The instance's source allocations now held by the migration.
        self._moved_source_allocations = None
        # The compute node the instance consumer holds allocations on.
        self._claimed_node = None
        # The destination whose claim passed: it holds namespaces for us.
        self._checked_host = None
        # The migration's destination as the API recorded it.
        self._requested_dest = (migration.dest_compute, migration.dest_node)

    # -- what a subclass says ------------------------------------------------

    def _check_instance(self):
        """Raise InstanceInvalidState if the instance cannot make this move."""
        raise NotImplementedError()

    def _version_problem(self, service):
        """Why ``service`` is too old for this move, or None."""
        raise NotImplementedError()

    def _prepare_destination(self, chosen):
        """Have ``chosen``'s compute claim; return what ``_start`` needs."""
        raise NotImplementedError()

    def _start(self, chosen, prepared):
        """Tell the source to go (a cast)."""
        raise NotImplementedError()

    # -- the task ----------------------------------------------------------

    def _execute(self):
        self._check_instance()
        source_service = self._check_source_is_up()
        source_node = objects.ComputeNode.get_by_host_and_nodename(
            self.context, self.source, self.instance.node)
        self.has_vpmem = bool(vpmem_resource_classes(self.instance.resources))
        problem = self._version_problem(source_service)
        if problem:
            raise exception.MigrationPreCheckError(reason=problem)
        dest_node = None
        if self.destination:
            dest_node = self._check_requested_destination(source_node)
        self._read_source_allocations()
        chosen, prepared = self._choose(source_node, dest_node)
        self._start(chosen, prepared)

    def _choose(self, source_node, dest_node):
        """Claim a destination; ``(Selection, prepared)``."""
        return self._schedule(source_node)

    def rollback(self, ex):
        LOG.warning('%(kind)s of instance %(uuid)s (migration '
                    '%(migration)s) failed before it started: %(error)s',
                    {'kind': self.KIND.capitalize(),
                     'uuid': self.instance.uuid,
                     'migration': self.migration.uuid, 'error': ex})
        # Reverse order of the steps; each runs even if one before failed,
        # so one unreachable owner does not leave the others dirty.
        # The stored migration context goes even when the destination's
        # answer never came (it may have claimed): nothing may hold a claim
        # of a move that ended.
        for undo in (self._drop_destination_claim,
                     self._drop_stored_migration_context,
                     self._restore_source_allocations,
                     self._end_migration):
            try:
                undo()
            except Exception:
                LOG.exception('Rollback step %s of the %s of instance %s '
                              'failed', undo.__name__, self.KIND,
                              self.instance.uuid)

    # -- checks ------------------------------------------------------------

    def _check_source_is_up(self):
        try:
            service = objects.Service.get_by_compute_host(self.context,
                                                          self.source)
        except exception.ComputeHostNotFound:
            raise exception.ComputeServiceUnavailable(host=self.source)
        if not servicegroup.service_is_up(service):
            raise exception.ComputeServiceUnavailable(host=self.source)
        return service

    def _check_requested_destination(self, source_node):
        """The requested host's node, if it may take the instance."""
        dest = self.destination
        if dest == self.source:
            raise exception.MigrationPreCheckError(
                reason='destination and source are the same host (%s)'
                       % dest)
        service = objects.Service.get_by_compute_host(self.context, dest)
        if not servicegroup.service_is_up(service):
            raise exception.ComputeServiceUnavailable(host=dest)
        # As Nova: the scheduler never takes a disabled host, while a
        # forced host gets only these checks, so an operator can still
        # move an instance onto a host kept out of scheduling.
        if service.disabled and not self.force:
            raise exception.MigrationPreCheckError(
                reason='the compute service of %s is disabled (%s), so the '
                       'scheduler will not choose it. Enable it (openstack '
                       'compute service set --enable %s nova-compute) or, '
                       'for a live migration at microversions 2.30 to '
                       '2.67, force the host' % (
                           dest, service.disabled_reason or 'no reason',
                           dest))
        nodes = objects.ComputeNodeList.get_all_by_host(self.context, dest)
        if not nodes:
            raise exception.ComputeHostNotFound(host=dest)
        dest_node = nodes[0]
        problem = self._incompatibility(service, dest_node, source_node)
        if problem:
            raise exception.MigrationPreCheckError(reason=problem)
        return dest_node

    def _incompatibility(self, dest_service, dest_node, source_node):
        """Why ``dest_node`` cannot run the source's guest, or None."""
        if dest_node.hypervisor_type != source_node.hypervisor_type:
            return ('%s runs hypervisor type %s, the source %s runs %s'
                    % (dest_node.host, dest_node.hypervisor_type,
                       self.source, source_node.hypervisor_type))
        if dest_node.hypervisor_version < source_node.hypervisor_version:
            return ('%s has hypervisor version %d, older than %d on the '
                    'source %s' % (dest_node.host,
                                   dest_node.hypervisor_version,
                                   source_node.hypervisor_version,
                                   self.source))
        return self._version_problem(dest_service)

    # -- placement ---------------------------------------------------------

    def _read_source_allocations(self):
        # A write owed from an earlier move of the instance comes first:
        # made later, it would undo this one.
        placement_work.settle_consumer(self.context, self.reportclient,
                                       self.instance.uuid)
        # Read once: the claim moves exactly these (checked by their
        # generation) and a forced destination is sized from them.
        self._source_doc = self.reportclient.get_allocations_for_consumer(
            self.context, self.instance.uuid)
        if not self._source_doc['allocations']:
            raise exception.AllocationMoveFailed(
                source=self.instance.uuid, target=self.migration.uuid,
                error='the instance holds no allocations')

    def _restore_source_allocations(self):
        if self._moved_source_allocations is None:
            self._release_claim()
            return
        # One write gives the instance its source allocations back and
        # drops any destination claim; while placement is away the source
        # host makes it once placement answers.
        placement_work.revert_move(self.context, self.reportclient,
                                   self.source, self.instance.uuid,
                                   self.migration.uuid)
        self._moved_source_allocations = None
        self._claimed_node = None

    def _claim(self, chosen):
        if self._moved_source_allocations is None:
            # The first claim of the move: the migration consumer takes
            # the source's allocations and the instance the destination's
            # in one write, so a refusal changes nothing.
            claimed = self.reportclient.move_and_claim(
                self.context, self.instance.uuid, self._source_doc,
                self.migration.uuid, chosen.allocations)
            if claimed:
                self._moved_source_allocations = (
                    self._source_doc['allocations'])
        else:
            claimed = self._claim_again(chosen)
        if not claimed:
            raise exception.MigrationPreCheckError(
                reason='not enough free resources on %s: %s' % (
                    chosen.host, self._shortfall(
                        chosen.compute_node_uuid,
                        summed(chosen.allocations.values()))))
        self._claimed_node = chosen.compute_node_uuid

    def _claim_again(self, chosen):
        """Claim another candidate after one that took the claim refused.

        The migration consumer holds the source already; the instance
        consumer lost its claim on the refusing candidate. Its generation
        changed with each write, so it is read rather than assumed.
        """
        current = self.reportclient.get_allocations_for_consumer(
            self.context, self.instance.uuid)
        if current['allocations']:
            # Its source allocations are back: whoever rolled the move back
            # meanwhile owns it now, and a claim would replace them.
            raise exception.MigrationError(
                reason='instance %s holds its allocations again: migration '
                       '%s was settled by another service meanwhile'
                       % (self.instance.uuid, self.migration.uuid))
        return selection.claim(self.context, self.reportclient, chosen,
                               self.instance.uuid, self.instance.project_id,
                               self.instance.user_id,
                               current.get('consumer_generation'))

    def _release_claim(self):
        if self._claimed_node is None:
            return
        # Only the destination's: the instance may hold its source
        # allocations again (a recovering source rolled the move back).
        self.reportclient.drop_provider_allocations(
            self.context, self.instance.uuid, self._claimed_node)
        self._claimed_node = None

    def _shortfall(self, rp_uuid, wanted):
        """Say which of ``wanted`` (``{rc: amount}``) the provider lacks."""
        try:
            _gen, inventories = self.reportclient.get_inventory(
                self.context, rp_uuid)
            usages = self.reportclient.get_usages(self.context, rp_uuid)
        except exception.NovaException as err:
            return 'placement could not tell why (%s)' % err
        missing = []
        for rc, amount in sorted(wanted.items()):
            inventory = inventories.get(rc)
            if not inventory:
                missing.append('no %s at all' % rc)
                continue
            capacity = int((inventory['total'] - inventory['reserved']) *
                           inventory['allocation_ratio'])
            free = capacity - usages.get(rc, 0)
            if free < amount:
                missing.append('not enough free %s (needs %d, %d free)'
                               % (rc, amount, free))
            elif amount > inventory['max_unit']:
                missing.append('%s max_unit is %d, the instance needs %d'
                               % (rc, inventory['max_unit'], amount))
        return '; '.join(missing) or 'placement refused the claim'

    # -- the destination ---------------------------------------------------

    def _try_destination(self, chosen):
        """Claim ``chosen`` and have it prepared; undone here if refused.

        Returns what ``_prepare_destination`` returned.
        """
        self._claim(chosen)
        try:
            self._record_destination(chosen)
            prepared = self._prepare_destination(chosen)
            # From here on the destination holds namespaces for us.
            self._checked_host = chosen.host
            try:
                self._load_destination_claim(chosen)
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._drop_destination_claim()
            return prepared
        except Exception:
            with excutils.save_and_reraise_exception():
                self._release_claim()
                self._forget_destination()

    def _record_destination(self, chosen):
        # Saved before the claim: the destination's resource tracker finds
        # its incoming claim through the migration's dest_compute/node.
        self.migration.dest_compute = chosen.host
        self.migration.dest_node = chosen.nodename
        self.migration.dest_host = chosen.host
        self.migration.save()

    def _forget_destination(self):
        self.migration.dest_compute, self.migration.dest_node = (
            self._requested_dest)
        self.migration.dest_host = None
        self.migration.save()

    def _load_destination_claim(self, chosen):
        """Read the migration context the destination stored.

        Read explicitly (not lazily on the source later), and checked: the
        source works from its new_resources.
        """
        stored = objects.MigrationContext.get_by_instance_uuid(
            self.context, self.instance.uuid)
        if stored is not None and stored.migration_id != self.migration.id:
            stored = None
        self.instance.migration_context = stored
        self.instance.obj_reset_changes(['migration_context'])
        if not self.has_vpmem:
            return
        if stored is None:
            raise exception.MigrationPreCheckError(
                reason='destination %s did not record the namespaces it '
                       'assigned to instance %s' % (chosen.host,
                                                    self.instance.uuid))
        assigned = vpmem_resource_classes(
            r for r in stored.new_resources or ()
            if r.provider_uuid == chosen.compute_node_uuid)
        held = vpmem_resource_classes(self.instance.resources)
        if assigned != held:
            raise exception.MigrationPreCheckError(
                reason='destination %s assigned namespaces %s, the instance '
                       'holds %s' % (chosen.host, dict(assigned), dict(held)))

    def _drop_destination_claim(self):
        host, self._checked_host = self._checked_host, None
        if host is None:
            return
        try:
            self.compute_rpcapi.drop_move_claim_at_destination(
                self.context, self.instance, self.migration, host)
        except Exception:
            # Its next resource update quarantines and erases them: once
            # the migration context is gone (next undo step) nothing in
            # the database holds them any more.
            LOG.exception('Could not ask %s to release the namespaces it '
                          'assigned to instance %s', host, self.instance.uuid)
        self._drop_stored_migration_context()

    def _drop_stored_migration_context(self):
        stored = objects.MigrationContext.get_by_instance_uuid(
            self.context, self.instance.uuid)
        self.instance.migration_context = None
        if stored is None or stored.migration_id != self.migration.id:
            self.instance.obj_reset_changes(['migration_context'])
            return
        self.instance.save(expected_task_state=[self.TASK_STATE])

    # -- scheduling --------------------------------------------------------

    def _schedule(self, source_node):
        """Claim and prepare candidates until one destination accepts.

        Returns ``(Selection, prepared)``; NoValidHost names every host
        considered and why it was not taken.
        """
        resources = sched_request.resources_from_flavor(self.instance.flavor)
        # A label no host offers any more raises NoValidHost naming it.
        candidates = selection.get_candidates(
            self.context, self.reportclient, resources,
            ignore_hosts=[self.source], requested_host=self.destination,
            flavor=self.instance.flavor)
        max_retries = CONF.migrate_max_retries
        rejected = {}
        untried = []
        for index, chosen in enumerate(candidates):
            # The first destination plus max_retries others; -1: all.
            if 0 <= max_retries < index:
                untried = [c.host for c in candidates[index:]]
                break
            problem = self._candidate_problem(chosen, source_node)
            if problem is None:
                try:
                    return chosen, self._try_destination(chosen)
                except _CANDIDATE_ERRORS as err:
                    problem = describe(err)
            LOG.info('%s of instance %s: not to %s: %s',
                     self.KIND.capitalize(), self.instance.uuid,
                     chosen.host, problem)
            rejected[chosen.host] = problem
        reason = self._no_host_reason(resources, candidates, rejected)
        if untried:
            reason += (' Not tried, [DEFAULT]migrate_max_retries = %d '
                       'reached: %s.' % (max_retries, ', '.join(untried)))
        raise exception.NoValidHost(reason=reason)

    def _candidate_problem(self, chosen, source_node):
        # The scheduler hands over the records it read for its choice.
        service, node = chosen.service, chosen.compute_node
        try:
            if service is None:
                service = objects.Service.get_by_compute_host(self.context,
                                                              chosen.host)
            if node is None:
                node = objects.ComputeNode.get_by_uuid(
                    self.context, chosen.compute_node_uuid)
        except exception.NotFound as err:
            return describe(err)
        return self._incompatibility(service, node, source_node)

    def _no_host_reason(self, resources, candidates, rejected):
        offered = {c.host for c in candidates}
        reasons = dict(rejected)
        for node in objects.ComputeNodeList.get_all(self.context):
            if (node.host == self.source or node.host in offered or
                    node.host in reasons):
                continue
            if self.destination and node.host != self.destination:
                continue
            reasons[node.host] = self._why_not_offered(node, resources)
        if not reasons:
            return ('Instance %s has no other compute host to go to.'
                    % self.instance.uuid)
        return ('Instance %s cannot %s to any host: %s.' % (
            self.instance.uuid, self.VERB,
            '; '.join('%s: %s' % (host, reasons[host])
                      for host in sorted(reasons))))

    def _why_not_offered(self, node, resources):
        try:
            service = objects.Service.get_by_compute_host(self.context,
                                                          node.host)
        except exception.ComputeHostNotFound:
            return 'no nova-compute service'
        if service.disabled:
            return 'its compute service is disabled'
        if not servicegroup.service_is_up(service):
            return 'its compute service is down'
        return self._shortfall(node.uuid, resources)

    # -- the rest of the undo ----------------------------------------------

    def _end_migration(self):
        """Mark the migration 'error' and free the instance, if still ours.

        One compare-and-swap decides between this task and a recovering
        source: the loser leaves the migration and the instance's
        task_state (maybe a newer move's by now) to the winner.
        """
        self.migration.status = fields.MigrationStatus.ERROR
        try:
            self.migration.save(expected_status=self.OWNED_STATUSES)
        except exception.MigrationStatusChanged as err:
            LOG.info('Leaving migration %s and instance %s as they are: %s',
                     self.migration.uuid, self.instance.uuid, err)
            return
        self.instance.task_state = None
        try:
            self.instance.save(expected_task_state=[self.TASK_STATE])
        except exception.UnexpectedTaskStateError as err:
            # Someone else owns the instance now; its state is theirs.
            LOG.warning('Not resetting the task state of instance %s: %s',
                        self.instance.uuid, err)

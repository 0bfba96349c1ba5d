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

"""The lifecycle of one compute host's persistent memory namespaces.

Each namespace has one state, kept in the database per (compute node,
resource class, name) apart from any instance (``objects.VPMEMNamespace``)::

    free --claim--> assigned --give up--> erasing --verified--> free
                                             |
                                             +--failed--> quarantined
    quarantined --retry--> erasing --verified--> free

Only a verified erase makes a namespace ``free``; nothing else may hand
one out. ``erasing`` and ``quarantined`` namespaces stay counted in
placement: while one is erased, by the consumer that gave it up (the
instance or the migration, whose allocation is dropped only afterwards);
once quarantined, by the provider's own quarantine consumer, to which
the giver's unit moves in one atomic placement write. The scheduler thus
never offers them, and the tracker never assigns them.

The resource tracker owns this object and calls it under its lock, except
around the erase itself, which may take minutes on a large device. A
give-up is two halves: :meth:`NamespaceLifecycle.begin_give_up` (assigned
-> erasing, at once) and :meth:`NamespaceLifecycle.end_give_up` (the erase
and what follows), which the source of a live migration runs in the
tracker's erase worker after the migration is reported completed.

Recovery is level-triggered (:meth:`NamespaceLifecycle.reconcile`, run by
every resource update): records are created for namespaces seen for the
first time (quarantined until erased: their contents are unknown),
assignments nobody holds any more and erases a crash interrupted are
quarantined, and the quarantine consumer is set to what the records say.
"""

import collections
import datetime
import threading
import time

from oslo_log import log as logging
from oslo_utils import timeutils

import nova.conf
from nova.db import api as db
from nova import exception
from nova import objects
from nova.objects import fields
from nova.objects import resource as resource_obj

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

State = fields.VPMEMNamespaceState
Status = fields.MigrationStatus

FIRST_SEEN = ('first seen by this host: its contents are unknown until it '
              'is erased')
INTERRUPTED = ('its erase was interrupted (the service stopped while '
               'erasing): its contents are unknown')


def key_of(resource):
    """What identifies a namespace: (provider, resource class, name)."""
    return (resource.provider_uuid, resource.resource_class,
            resource.identifier)


PMEM_RC_PREFIX = resource_obj.PMEM_NAMESPACE_RC_PREFIX


def is_vpmem(resource):
    return resource.resource_class.startswith(PMEM_RC_PREFIX)


def retry_delay(attempts, first, maximum):
    """Seconds before erase retry number ``attempts + 1`` (exponential)."""
    if attempts <= 0:
        return 0
    return min(maximum, first * 2 ** (attempts - 1))


class GiveUpResult:
    """What happened to namespaces an instance or migration gave up."""

    def __init__(self):
        self.erased = []  # Resources, free again
        self.quarantined = []  # (Resource, reason)
        self.skipped = []  # (Resource, reason): not this host's to erase
        self.erase_seconds = 0.0  # how long the erase and its check took

    @property
    def clean(self):
        """True when nothing stays behind unerased."""
        return not self.quarantined

    def describe(self):
        parts = []
        if self.erased:
            parts.append('erased %s' % ', '.join(
                r.identifier for r in self.erased))
        if self.quarantined:
            parts.append('QUARANTINED %s' % '; '.join(
                '%s (%s)' % (r.identifier, why)
                for r, why in self.quarantined))
        if self.skipped:
            parts.append('left alone %s' % '; '.join(
                '%s (%s)' % (r.identifier, why) for r, why in self.skipped))
        return ', '.join(parts) or 'nothing to erase'


class Holders:
    """Who the instance and migration records say uses which namespace.

    ``by_key``: namespace key -> {instance uuid: migration uuid or None}
    (None when the instance holds it itself, the migration's uuid when it
    is that migration's incoming claim). ``moving``: instances with a
    move in progress from or to this node.
    """

    def __init__(self, instances=()):
        self.by_key = collections.defaultdict(dict)
        self.moving = set()
        # The instances on the node, as read: the tracker counts their
        # usage from the same read.
        self.instances = list(instances)

    def add(self, resources, instance_uuid, migration_uuid=None,
            provider_uuid=None):
        for resource in resources or ():
            if provider_uuid and resource.provider_uuid != provider_uuid:
                continue  # another host's side of a move
            holders = self.by_key[key_of(resource)]
            # An instance that holds it itself beats its incoming claim.
            if holders.get(instance_uuid, migration_uuid) is None:
                holders[instance_uuid] = None
            else:
                holders[instance_uuid] = migration_uuid

    def of(self, key):
        return self.by_key.get(key, {})


def find_holders(context, host, nodename, node_uuid):
    """Read the holders of this node's namespaces from the database.

    Instances on the node, and both sides of the moves in progress from
    or to it; moves that ended, even in 'error', are not read: what they
    left behind is in the namespace records. A fixed number of queries
    whatever the number of instances and moves: the update runs on a
    timer, on hosts with a thousand namespaces.
    """
    instances = objects.InstanceList.get_by_host_and_node(
        context, host, nodename, expected_attrs=_HOLDER_ATTRS)
    holders = Holders(instances)
    by_uuid = {instance.uuid: instance for instance in instances}
    for instance in instances:
        holders.add(instance.resources, instance.uuid,
                    provider_uuid=node_uuid)
    migrations = objects.MigrationList.get_in_progress_by_host_and_node(
        context, host, nodename)
    # The instances of incoming moves are elsewhere still: one read for
    # all of them, not one each.
    by_uuid.update(_instances_by_uuid(
        context, {m.instance_uuid for m in migrations} - set(by_uuid)))
    for migration in migrations:
        holders.moving.add(migration.instance_uuid)
        instance = by_uuid.get(migration.instance_uuid)
        if instance is None:
            continue  # deleted meanwhile
        ctx = instance.migration_context
        if ctx is None or ctx.migration_id != migration.id:
            continue
        holders.add(ctx.old_resources, instance.uuid,
                    provider_uuid=node_uuid)
        holders.add(ctx.new_resources, instance.uuid, migration.uuid,
                    provider_uuid=node_uuid)
    return holders


_HOLDER_ATTRS = ['resources', 'migration_context']
# Instances per IN (...) list: far below any database's bound variables.
_UUIDS_PER_QUERY = 500


def _instances_by_uuid(context, uuids):
    found = {}
    uuids = sorted(uuids)
    for start in range(0, len(uuids), _UUIDS_PER_QUERY):
        for instance in objects.InstanceList.get_by_filters(
                context, {'uuid': uuids[start:start + _UUIDS_PER_QUERY]},
                expected_attrs=_HOLDER_ATTRS):
            found[instance.uuid] = instance
    return found


class NamespaceLifecycle:
    """The namespace records of one compute host, and their transitions.

    ``lock`` is the resource tracker's: every read and write of
    ``records`` happens under it.
    """

    def __init__(self, host, driver, reportclient, lock):
        self.host = host
        self.driver = driver
        self.reportclient = reportclient
        self._lock = lock
        # provider uuid -> {(rc, name): VPMEMNamespace}
        self.records = {}
        # Keys of the namespaces this process is erasing right now.
        self._erasing = set()
        # Migrations whose source erase a stopped service interrupted
        # (see _converge); the tracker drops their allocations.
        self.interrupted_moves = set()
        # Writes of one provider's quarantine consumer, one at a time.
        self._hold_lock = threading.Lock()
        # provider uuid -> {record id: the row its record was built from},
        # for the records nothing changed since (see _read_records).
        self._rows = {}

    # -- reading ---------------------------------------------------------

    def record(self, key):
        provider, rc, name = key
        return self.records.get(provider, {}).get((rc, name))

    def state_of(self, key):
        record = self.record(key)
        return record.state if record is not None else None

    def is_free(self, key):
        return (self.state_of(key) == State.FREE and
                key not in self._erasing)

    def quarantined_counts(self, provider_uuid, offered_keys):
        """{resource class: count} the quarantine consumer should hold."""
        counts = collections.Counter()
        for (rc, name), record in self.records.get(provider_uuid,
                                                   {}).items():
            if (held_back(record) and
                    (provider_uuid, rc, name) in offered_keys):
                counts[rc] += 1
        return dict(counts)

    # -- the periodic reconcile -------------------------------------------

    def reconcile(self, context, node, offered, holders):
        """Converge this node's records on what is offered and held.

        ``offered``: {key: Resource} the host offers; ``holders``: a
        Holders. Returns the records, and writes only what changed. Under
        the tracker's lock.
        """
        found = self._read_records(context, node.uuid)
        records = {}
        for key, resource in sorted(offered.items()):
            _provider, rc, name = key
            record = found.pop((rc, name), None)
            if record is None:
                record = self._first_seen(context, node, resource,
                                          holders.of(key))
            else:
                record = self._converge(context, record, resource,
                                        holders.of(key), holders.moving)
            records[(rc, name)] = record
        for (rc, name), record in found.items():
            kept = self._not_offered(context, record,
                                     holders.of((node.uuid, rc, name)))
            if kept is not None:
                records[(rc, name)] = kept
        self.records[node.uuid] = records
        return records

    def _read_records(self, context, provider_uuid):
        """``{(rc, name): record}`` of a provider, as stored now.

        Every update reads every row (another process, ``nova-manage
        vpmem``, may have written some); a row unchanged since it was last
        read here keeps the record built from it, as building thousands of
        versioned objects costs more than the read itself.
        """
        known = self.records.get(provider_uuid, {})
        previous_rows = self._rows.get(provider_uuid, {})
        rows = {}
        found = {}
        for row in db.vpmem_namespace_get_all(
                context, {'compute_node_uuid': provider_uuid}):
            key = (row['resource_class'], row['name'])
            record = known.get(key)
            if (record is None or record.id != row['id'] or
                    previous_rows.get(row['id']) != row):
                record = objects.VPMEMNamespace._from_db_object(
                    context, objects.VPMEMNamespace(), row)
            rows[row['id']] = row
            found[key] = record
        self._rows[provider_uuid] = rows
        return found

    def _forget_row(self, record):
        """The record changes here: the next update builds it anew."""
        if record.obj_attr_is_set('id'):
            self._rows.get(record.compute_node_uuid, {}).pop(record.id, None)

    def _first_seen(self, context, node, resource, holder):
        record = objects.VPMEMNamespace(
            context, compute_node_uuid=node.uuid, host=self.host,
            resource_class=resource.resource_class,
            name=resource.identifier, devpath=_devpath(resource),
            state_changed_at=timeutils.utcnow(), erase_attempts=0)
        if holder:
            instance_uuid, migration_uuid = one_holder(holder)
            record.state = State.ASSIGNED
            record.instance_uuid = instance_uuid
            record.migration_uuid = migration_uuid
            LOG.warning('Namespace %s of %s had no lifecycle record; '
                        'recorded as assigned to instance %s, which holds '
                        'it', resource.identifier, self.host, instance_uuid)
        else:
            record.state = State.QUARANTINED
            record.reason = FIRST_SEEN
            record.next_erase_at = timeutils.utcnow()
            LOG.info('Namespace %s (%s) of %s is new to this host; it is '
                     'erased before it is offered', resource.identifier,
                     resource.resource_class, self.host)
        record.create()
        return record

    def _converge(self, context, record, resource, holder, moving):
        """One offered namespace's record, made to agree with its holders."""
        key = (record.compute_node_uuid, record.resource_class, record.name)
        devpath = _devpath(resource)
        if devpath and record.devpath != devpath:
            record.devpath = devpath
        if record.state == State.FREE and holder:
            instance_uuid, migration_uuid = one_holder(holder)
            LOG.error('Namespace %s of %s is recorded free, but instance %s '
                      'holds it; recording it as assigned',
                      record.name, self.host, instance_uuid)
            self._set(record, State.ASSIGNED, instance_uuid=instance_uuid,
                      migration_uuid=migration_uuid)
        elif record.state == State.ASSIGNED:
            self._converge_assigned(record, holder, moving)
        elif record.state == State.ERASING and key not in self._erasing:
            LOG.warning('Namespace %s of %s was being erased when the '
                        'service stopped; quarantined until erased again',
                        record.name, self.host)
            if (record.migration_uuid and
                    record.migration_final_status == Status.COMPLETED):
                # The source side of a finished live migration: its
                # consumer's allocation, dropped after the erase, must go.
                self.interrupted_moves.add(record.migration_uuid)
            # Whose it was stays recorded: the retry settles that move.
            self._set(record, State.QUARANTINED, reason=INTERRUPTED,
                      instance_uuid=record.instance_uuid,
                      migration_uuid=record.migration_uuid,
                      migration_final_status=record.migration_final_status,
                      next_erase_at=timeutils.utcnow())
        self._save(record)
        return record

    def _converge_assigned(self, record, holder, moving):
        if record.instance_uuid in holder:
            # Drop the migration once its instance holds it outright,
            # unless it is a move's end noted by keep.
            migration_uuid = holder[record.instance_uuid]
            if (record.migration_uuid != migration_uuid and
                    not record.migration_final_status):
                record.migration_uuid = migration_uuid
            return
        if holder:
            instance_uuid, migration_uuid = one_holder(holder)
            LOG.error('Namespace %s of %s is recorded as assigned to '
                      'instance %s, but instance %s holds it; recording '
                      'that', record.name, self.host, record.instance_uuid,
                      instance_uuid)
            record.instance_uuid = instance_uuid
            record.migration_uuid = migration_uuid
            record.migration_final_status = None    # another's move's end
            return
        if record.instance_uuid in moving:
            return  # a move in progress settles it
        reason = ('it was assigned to instance %s, which no longer holds '
                  'it: its contents are unknown' % record.instance_uuid)
        LOG.warning('Namespace %s of %s: %s; quarantined until erased',
                    record.name, self.host, reason)
        # A claim of a move (it names its migration) that nobody holds is
        # a move that did not happen here: once erased, it ended failed,
        # unless the side that gave the move up noted another end.
        final_status = record.migration_final_status or (
            Status.FAILED if record.migration_uuid else None)
        self._set(record, State.QUARANTINED, reason=reason,
                  instance_uuid=record.instance_uuid,
                  migration_uuid=record.migration_uuid,
                  migration_final_status=final_status,
                  next_erase_at=timeutils.utcnow())

    def _not_offered(self, context, record, holder):
        """A record whose namespace the host no longer offers.

        An assigned one stays (the tracker refuses to start over it); any
        other is forgotten: if the namespace is offered again it is new,
        and erased before anyone gets it.
        """
        key = (record.compute_node_uuid, record.resource_class, record.name)
        if record.state == State.ASSIGNED or holder or key in self._erasing:
            return record
        if record.state != State.FREE:
            LOG.warning('Namespace %s (%s) of %s is %s (%s) and no longer '
                        'offered; forgetting it. It is erased before use if '
                        'it is offered again.', record.name,
                        record.resource_class, self.host, record.state,
                        record.reason or 'no reason')
        try:
            record.destroy(expected={'state': record.state})
        except exception.VPMEMNamespaceStateConflict:
            return objects.VPMEMNamespace.get_by_id(context, record.id)
        except exception.VPMEMNamespaceNotFound:
            pass
        return None

    # -- claims ------------------------------------------------------------

    def assign(self, key, instance_uuid, migration_uuid=None):
        """free -> assigned. False if it was not free (someone else won)."""
        record = self.record(key)
        if record is None or not self.is_free(key):
            return False
        self._set(record, State.ASSIGNED, instance_uuid=instance_uuid,
                  migration_uuid=migration_uuid)
        try:
            self._save(record, expected={'state': State.FREE})
        except exception.VPMEMNamespaceStateConflict:
            self._reload(record)
            return False
        return True

    def unassign(self, key, instance_uuid):
        """assigned -> free, for a claim nothing has written to yet.

        The namespace was verified clean when it was claimed and no guest
        nor copy has opened it since, so it needs no erase.
        """
        record = self.record(key)
        if (record is None or record.state != State.ASSIGNED or
                record.instance_uuid != instance_uuid):
            return False
        self._set(record, State.FREE)
        try:
            self._save(record, expected={'state': State.ASSIGNED,
                                         'instance_uuid': instance_uuid})
        except exception.VPMEMNamespaceStateConflict:
            self._reload(record)
            return False
        return True

    def keep(self, context, instance_uuid, migration_uuid, final_status):
        """Keep an instance's assigned namespaces for a move's side that
        could not give them up (a guest that would not go, an instance
        record that would not let go of them).

        They stay assigned (freed while a record names them, they would
        be named by two records), with the move's end noted on their
        records, and the quarantine consumer counts them instead of the
        instance, whose allocation here is about to go. Once no record
        names them, the resource update quarantines and erases them, and
        the migration then takes ``final_status``. Idempotent: a
        namespace noted already is not counted twice. Returns the names
        kept.
        """
        with self._lock:
            noted = self._note_move_end(instance_uuid, migration_uuid,
                                        final_status)
        by_provider = collections.defaultdict(collections.Counter)
        for record in noted:
            by_provider[record.compute_node_uuid][record.resource_class] += 1
        self._count_in_hold(context, instance_uuid, by_provider)
        return sorted(record.name for record in noted)

    def _note_move_end(self, instance_uuid, migration_uuid, final_status):
        noted = []
        for records in self.records.values():
            for record in records.values():
                if (record.state != State.ASSIGNED or
                        record.instance_uuid != instance_uuid or
                        held_back(record)):
                    continue
                record.migration_uuid = migration_uuid
                record.migration_final_status = final_status
                try:
                    self._save(record, expected={
                        'state': State.ASSIGNED,
                        'instance_uuid': instance_uuid})
                except exception.VPMEMNamespaceStateConflict:
                    self._reload(record)
                    continue
                noted.append(record)
        return noted

    # -- giving namespaces up ----------------------------------------------

    def give_up(self, context, resources, instance_uuid, giver,
                migration=None, final_status=None):
        """Erase namespaces an instance or a migration gives up.

        Each becomes ``erasing``, is erased and verified, then ``free``;
        one whose erase fails becomes ``quarantined`` and its placement
        unit moves from ``giver`` (the consumer that counted it) to the
        provider's quarantine consumer. ``final_status`` is the status
        ``migration`` takes once a quarantined namespace is finally
        erased. A namespace assigned to another instance is never touched.
        Returns a GiveUpResult; never raises for a failed erase.
        """
        result, wanted = self.begin_give_up(resources, instance_uuid,
                                            migration=migration,
                                            final_status=final_status)
        return self.end_give_up(context, wanted, result, instance_uuid,
                                giver, migration=migration)

    def begin_give_up(self, resources, instance_uuid, migration=None,
                      final_status=None):
        """The first half of :meth:`give_up`: assigned -> erasing.

        Returns ``(GiveUpResult, wanted)``; once this returns, nothing
        can claim the ``wanted`` namespaces, so the erase itself
        (:meth:`end_give_up`) may run later, in another thread.
        """
        result = GiveUpResult()
        with self._lock:
            wanted = self._start_erasing(resources, instance_uuid, migration,
                                         final_status, result)
        return result, wanted

    def end_give_up(self, context, wanted, result, instance_uuid, giver,
                    migration=None):
        """The second half of :meth:`give_up`: erase, verify, settle."""
        if not wanted:
            return result
        started = time.monotonic()
        erased, failed = self._erase(context, wanted)
        result.erase_seconds = time.monotonic() - started
        with self._lock:
            for resource in erased:
                self._finish_erase(resource, None)
                result.erased.append(resource)
            for resource, reason in failed:
                self._finish_erase(resource, reason)
                result.quarantined.append((resource, reason))
        if result.quarantined:
            self._move_to_quarantine(context, giver, result.quarantined)
        log = LOG.warning if result.quarantined else LOG.info
        # The erase time is what a benchmark compares with the move's.
        log('Namespaces given up by instance %s%s on %s: %s (erase took '
            '%.2fs)', instance_uuid,
            ' (migration %s)' % migration.uuid if migration else '',
            self.host, result.describe(), result.erase_seconds)
        return result

    def _start_erasing(self, resources, instance_uuid, migration,
                       final_status, result):
        wanted = []
        for resource in dict.fromkeys(resources or ()):
            if not is_vpmem(resource):
                continue
            key = key_of(resource)
            record = self.record(key)
            problem = None
            if record is None:
                problem = 'not a namespace of this host'
            elif key in self._erasing:
                problem = 'being erased already'
            elif (record.state == State.ASSIGNED and
                  record.instance_uuid != instance_uuid):
                problem = ('assigned to instance %s, not to instance %s'
                           % (record.instance_uuid, instance_uuid))
            if problem:
                LOG.error('Not erasing namespace %s on %s: %s',
                          resource.identifier, self.host, problem)
                result.skipped.append((resource, problem))
                continue
            previous = record.state
            self._set(record, State.ERASING, instance_uuid=instance_uuid,
                      migration_uuid=migration.uuid if migration else None,
                      migration_final_status=final_status,
                      reason=record.reason,
                      erase_attempts=record.erase_attempts)
            try:
                self._save(record, expected={'state': previous})
            except exception.VPMEMNamespaceStateConflict as exc:
                self._reload(record)
                result.skipped.append((resource, str(exc)))
                continue
            self._erasing.add(key)
            wanted.append(resource)
        return wanted

    def _erase(self, context, resources):
        """``(erased, [(resource, reason)])``; never raises."""
        try:
            self.driver.erase_vpmems(context, resources)
        except exception.VPMEMEraseIncomplete as exc:
            return list(exc.erased), [(r, _reason(err))
                                      for r, err in exc.failed]
        except exception.VPMEMEraseRefused as exc:
            refused = dict((key_of(r), why) for r, why in exc.refused)
            return [], [(r, 'erase refused: %s' % refused.get(
                key_of(r), exc.format_message())) for r in resources]
        except Exception as exc:
            LOG.exception('Erasing namespaces %s on %s failed',
                          ', '.join(r.identifier for r in resources),
                          self.host)
            return [], [(r, _reason(exc)) for r in resources]
        return list(resources), []

    def _finish_erase(self, resource, failure):
        """erasing -> free (``failure`` None) or quarantined."""
        key = key_of(resource)
        self._erasing.discard(key)
        record = self.record(key)
        if record is None:
            return
        if failure is None:
            self._set(record, State.FREE)
        else:
            attempts = record.erase_attempts + 1
            delay = retry_delay(attempts,
                                CONF.compute.vpmem_erase_retry_interval,
                                CONF.compute.vpmem_erase_retry_max_interval)
            self._set(record, State.QUARANTINED, reason=failure,
                      instance_uuid=record.instance_uuid,
                      migration_uuid=record.migration_uuid,
                      migration_final_status=record.migration_final_status,
                      erase_attempts=attempts,
                      next_erase_at=timeutils.utcnow() +
                      datetime.timedelta(seconds=delay))
        try:
            self._save(record, expected={'state': State.ERASING})
        except exception.VPMEMNamespaceStateConflict:
            LOG.error('Namespace %s of %s changed while it was erased; '
                      'the next resource update converges it', record.name,
                      self.host)
            self._reload(record)

    def _move_to_quarantine(self, context, giver, quarantined):
        by_provider = collections.defaultdict(collections.Counter)
        for resource, _reason_text in quarantined:
            by_provider[resource.provider_uuid][resource.resource_class] += 1
        self._count_in_hold(context, giver, by_provider)

    def _count_in_hold(self, context, giver, by_provider):
        """Move ``{provider: {rc: n}}`` from ``giver`` to the holds."""
        for provider, counts in by_provider.items():
            try:
                with self._hold_lock:
                    self.reportclient.move_to_quarantine(
                        context, provider, giver, dict(counts))
            except Exception:
                # The records hold them anyway; the resource update sets
                # the quarantine consumer again.
                LOG.exception('Could not count quarantined namespaces %s of '
                              'provider %s in placement; the next resource '
                              'update retries', dict(counts), provider)

    # -- erase retries -----------------------------------------------------

    def refresh(self, context, provider_uuid):
        """Re-read a provider's quarantined records: ``nova-manage vpmem``
        may have changed them (quarantined an assignment nobody holds,
        made one due now). Reads the rows quarantined now and those
        recorded quarantined here, not all: this runs on a timer.
        Under the tracker's lock."""
        records = self.records.get(provider_uuid)
        if records is None:
            return
        rows = db.vpmem_namespace_get_all(
            context, {'compute_node_uuid': provider_uuid,
                      'state': State.QUARANTINED})
        seen = {row['id'] for row in rows}
        left = sorted(record.id for record in records.values()
                      if record.state == State.QUARANTINED and
                      record.id not in seen)
        if left:
            rows += db.vpmem_namespace_get_all(
                context, {'compute_node_uuid': provider_uuid, 'id': left})
        for row in rows:
            key = (row['resource_class'], row['name'])
            known = records.get(key)
            if known is not None and known.id == row['id']:
                records[key] = objects.VPMEMNamespace._from_db_object(
                    context, objects.VPMEMNamespace(), row)

    def due_for_retry(self, offered_keys, now, names=None):
        """Quarantined namespaces whose next erase is due (or ``names``)."""
        due = []
        for provider, records in self.records.items():
            for (rc, name), record in records.items():
                key = (provider, rc, name)
                if (record.state != State.QUARANTINED or
                        key not in offered_keys or key in self._erasing):
                    continue
                if names is not None:
                    if name in names:
                        due.append(record)
                elif (record.next_erase_at is None or
                      timeutils.normalize_time(record.next_erase_at) <=
                      timeutils.normalize_time(now)):
                    due.append(record)
        return due

    def retry_erase(self, context, resource):
        """quarantined -> erasing -> free, or back to quarantined.

        Returns True when it is free. Settles the migration it came from
        once none of its namespaces stays quarantined.
        """
        key = key_of(resource)
        with self._lock:
            record = self.record(key)
            if record is None or record.state != State.QUARANTINED:
                return False
            origin = (record.instance_uuid, record.migration_uuid,
                      record.migration_final_status, record.reason)
            self._set(record, State.ERASING, instance_uuid=origin[0],
                      migration_uuid=origin[1],
                      migration_final_status=origin[2], reason=origin[3],
                      erase_attempts=record.erase_attempts,
                      next_erase_at=record.next_erase_at)
            try:
                self._save(record, expected={'state': State.QUARANTINED})
            except exception.VPMEMNamespaceStateConflict:
                self._reload(record)
                return False
            self._erasing.add(key)
        erased, failed = self._erase(context, [resource])
        with self._lock:
            self._finish_erase(resource, failed[0][1] if failed else None)
        if failed:
            record = self.record(key)
            LOG.warning('Retried erase of quarantined namespace %s on %s '
                        'failed again (%s); next try at %s',
                        resource.identifier, self.host, failed[0][1],
                        record.next_erase_at if record else '?')
            return False
        LOG.info('Quarantined namespace %s on %s is erased and free again '
                 '(it was quarantined because: %s)', resource.identifier,
                 self.host, origin[3])
        if origin[1]:
            settle_migration(context, origin[1], origin[2])
        return True

    def sync_quarantine_hold(self, context, provider_uuid, offered_keys):
        """Set the provider's quarantine consumer to the records' count."""
        with self._hold_lock:
            with self._lock:
                wanted = self.quarantined_counts(provider_uuid, offered_keys)
            return self.reportclient.set_quarantine_hold(
                context, provider_uuid, wanted)

    # -- record writes -----------------------------------------------------

    def _set(self, record, state, instance_uuid=None, migration_uuid=None,
             migration_final_status=None, reason=None, erase_attempts=0,
             next_erase_at=None):
        """Give ``record`` a new state; what the state does not use is
        cleared (a free namespace remembers nobody)."""
        self._forget_row(record)
        record.state = state
        record.instance_uuid = instance_uuid
        record.migration_uuid = migration_uuid
        record.migration_final_status = migration_final_status
        record.reason = reason
        record.erase_attempts = erase_attempts
        record.next_erase_at = next_erase_at
        record.state_changed_at = timeutils.utcnow()

    def _save(self, record, expected=None):
        if not record.obj_what_changed():
            return
        self._forget_row(record)
        record.save(expected=expected)

    def _reload(self, record):
        self._forget_row(record)
        current = objects.VPMEMNamespace.get_by_id(record._context,
                                                   record.id)
        for name in record.fields:
            if current.obj_attr_is_set(name):
                setattr(record, name, getattr(current, name))
        record.obj_reset_changes()


def settle_migration(context, migration_uuid, final_status):
    """Give a migration in 'error' its real end once nothing it left
    behind is quarantined or being erased any more."""
    if not final_status:
        return
    left = objects.VPMEMNamespaceList.get_by_filters(
        context, {'migration_uuid': migration_uuid,
                  'state': [State.QUARANTINED, State.ERASING]})
    if len(left):
        return
    # The instance may be deleted since (and its migrations with it):
    # its history still tells the truth.
    history = context.elevated()
    history.read_deleted = 'yes'
    try:
        migration = objects.Migration.get_by_uuid(history, migration_uuid)
    except exception.MigrationNotFound:
        return
    if migration.status != Status.ERROR:
        return
    migration.status = final_status
    migration.save()
    LOG.info('Migration %s of instance %s is %s: the namespaces it left '
             'behind are erased', migration.uuid, migration.instance_uuid,
             final_status)


def held_back(record):
    """Whether the provider's quarantine consumer counts this namespace:
    quarantined, or kept by a move's side that could not give it up
    (assigned, with the move's end noted; see NamespaceLifecycle.keep)."""
    return (record.state == State.QUARANTINED or
            (record.state == State.ASSIGNED and
             bool(record.migration_final_status)))


def one_holder(holder):
    """(instance uuid, migration uuid) of a holders entry, stable order."""
    instance_uuid = sorted(holder)[0]
    return instance_uuid, holder[instance_uuid]


def _devpath(resource):
    metadata = (resource.metadata if resource.obj_attr_is_set('metadata')
                else None)
    return getattr(metadata, 'devpath', None)


def _reason(exc):
    if isinstance(exc, exception.NovaException):
        return exc.format_message()
    return '%s: %s' % (type(exc).__name__, exc)

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

"""What ``nova-manage vpmem audit`` compares, reports and heals.

Three views of every persistent memory namespace are compared:

* the namespace records: the state each compute's resource tracker keeps
  in the database (free, assigned, erasing, quarantined);
* the instance and migration records: which instance uses which namespace
  (``instance.resources``, and both sides of every move in progress);
* placement: how many namespaces of each class a provider counts as used,
  and which consumers count them.

:func:`compare` is a pure function of those views and returns findings,
each naming the command that fixes it; :func:`heal` applies the repairs
that are safe: it withholds namespaces (quarantines what nobody holds,
records what an instance holds) and corrects placement's counts, but it
never frees a namespace and never erases one.
"""

import collections
import dataclasses

from oslo_log import log as logging
from oslo_utils import timeutils

from nova.compute import namespace_lifecycle as lifecycle
from nova import exception
from nova import objects
from nova.objects import fields
from nova.objects import resource as resource_obj
from nova.scheduler.client import report

LOG = logging.getLogger(__name__)

State = fields.VPMEMNamespaceState
Status = fields.MigrationStatus

# Kinds of findings, in the order they are printed.
QUARANTINED = 'quarantined'
LEAKED = 'leaked'
DOUBLE_ASSIGNED = 'double-assigned'
UNRECORDED = 'unrecorded'
HOLDER_MISMATCH = 'holder-mismatch'
ORPHANED = 'orphaned'
PLACEMENT = 'placement'
ERASING = 'erasing'
KINDS = (QUARANTINED, LEAKED, DOUBLE_ASSIGNED, UNRECORDED, HOLDER_MISMATCH,
         ORPHANED, PLACEMENT, ERASING)
# An erase in progress is not a problem; everything else is.
NOT_PROBLEMS = frozenset([ERASING])

HEAL = 'nova-manage vpmem audit --heal'


@dataclasses.dataclass
class Finding:
    kind: str
    host: str
    what: str
    detail: str
    fix: str
    # ('quarantine', record, reason) | ('assign', record, instance,
    # migration) | ('delete-consumer', consumer) | ('set-hold', rp, counts)
    heal: tuple = None

    @property
    def problem(self):
        return self.kind not in NOT_PROBLEMS


@dataclasses.dataclass
class Views:
    """Everything the audit compares, read once."""

    records: list
    # rp uuid -> host
    nodes: dict
    holders: lifecycle.Holders
    # uuids of instances that exist, and of moves in progress
    instances: set
    migrations: set
    # rp uuid -> {'usages': {rc: n}, 'consumers': {uuid: {rc: n}}} or an
    # error message when placement could not be read
    placement: dict
    # consumer uuid -> what it was (a deleted instance, an ended move)
    ended: dict = dataclasses.field(default_factory=dict)


def gather(context, reportclient):
    """Read the three views from the database and placement."""
    records = list(objects.VPMEMNamespaceList.get_all(context))
    nodes = {node.uuid: node.host
             for node in objects.ComputeNodeList.get_all(context)}
    holders = lifecycle.Holders()
    instances = objects.InstanceList.get_by_filters(
        context, {}, expected_attrs=['resources', 'migration_context'])
    by_uuid = {instance.uuid: instance for instance in instances}
    for instance in instances:
        holders.add(instance.resources, instance.uuid)
    moving = objects.MigrationList.get_by_filters(
        context, {'status': list(Status.IN_PROGRESS)})
    for migration in moving:
        holders.moving.add(migration.instance_uuid)
        instance = by_uuid.get(migration.instance_uuid)
        ctx = instance.migration_context if instance is not None else None
        if ctx is None or ctx.migration_id != migration.id:
            continue
        holders.add(ctx.old_resources, instance.uuid)
        holders.add(ctx.new_resources, instance.uuid, migration.uuid)
    placement = {}
    for rp_uuid in sorted(set(nodes) | {r.compute_node_uuid
                                        for r in records}):
        try:
            placement[rp_uuid] = {
                'usages': reportclient.get_usages(context, rp_uuid),
                'consumers': reportclient.get_provider_allocations(
                    context, rp_uuid)}
        except exception.NovaException as exc:
            placement[rp_uuid] = exc.format_message()
    views = Views(records=records, nodes=nodes, holders=holders,
                  instances=set(by_uuid),
                  migrations={m.uuid for m in moving}, placement=placement)
    views.ended = _describe_strangers(context, views)
    return views


def _describe_strangers(context, views):
    """What each unknown consumer of namespaces in placement was."""
    quarantine = {report.quarantine_consumer(rp) for rp in views.placement}
    ended = {}
    for rp_data in views.placement.values():
        if isinstance(rp_data, str):
            continue
        for consumer, amounts in rp_data['consumers'].items():
            if (consumer in views.instances or consumer in views.migrations
                    or consumer in quarantine or consumer in ended or
                    not _pmem(amounts)):
                continue
            ended[consumer] = _what_was(context, consumer)
    return ended


def _what_was(context, consumer):
    try:
        migration = objects.Migration.get_by_uuid(context, consumer)
        return 'migration %s, which is %s' % (consumer, migration.status)
    except exception.MigrationNotFound:
        pass
    deleted = context.elevated()
    deleted.read_deleted = 'yes'
    try:
        objects.Instance.get_by_uuid(deleted, consumer)
        return 'instance %s, which is deleted' % consumer
    except exception.InstanceNotFound:
        return None  # nothing of ours


def _pmem(amounts):
    return {rc: n for rc, n in amounts.items()
            if rc.startswith(resource_obj.PMEM_NAMESPACE_RC_PREFIX) and n}


def compare(views):
    """The findings of one audit, in print order."""
    findings = []
    recorded = set()
    for record in views.records:
        key = (record.compute_node_uuid, record.resource_class, record.name)
        recorded.add(key)
        findings.extend(_check_record(views, record, key))
    findings.extend(_check_holders(views, recorded))
    for rp_uuid, rp_data in sorted(views.placement.items()):
        findings.extend(_check_placement(views, rp_uuid, rp_data))
    order = {kind: index for index, kind in enumerate(KINDS)}
    findings.sort(key=lambda f: (order[f.kind], f.host, f.what))
    return findings


def _describe(record):
    return '%s (%s)' % (record.name, record.resource_class)


def _origin(record):
    parts = []
    if record.instance_uuid:
        parts.append('instance %s' % record.instance_uuid)
    if record.migration_uuid:
        parts.append('migration %s' % record.migration_uuid)
    return ', '.join(parts) or 'no instance'


def _check_record(views, record, key):
    host = record.host
    holder = views.holders.of(key)
    if record.state == State.QUARANTINED:
        yield Finding(
            QUARANTINED, host, _describe(record),
            '%s; since %s, %d erase attempt(s), next at %s; from %s' % (
                record.reason or 'no reason recorded',
                _time(record.state_changed_at), record.erase_attempts,
                _time(record.next_erase_at), _origin(record)),
            'fix the cause, then: nova-manage vpmem retry-erase %s %s'
            % (host, record.name))
    elif record.state == State.ERASING:
        yield Finding(
            ERASING, host, _describe(record),
            'being erased since %s (given up by %s)' % (
                _time(record.state_changed_at), _origin(record)),
            'nothing while nova-compute on %s runs; if it stopped, it '
            'quarantines the namespace when it starts' % host)
    elif record.state == State.FREE and holder:
        instance_uuid, migration_uuid = lifecycle.one_holder(holder)
        yield Finding(
            UNRECORDED, host, _describe(record),
            'recorded free, but instance %s holds it' % instance_uuid,
            HEAL, heal=('assign', record, instance_uuid, migration_uuid))
    elif record.state == State.ASSIGNED:
        if record.instance_uuid in holder:
            return
        if holder:
            instance_uuid, migration_uuid = lifecycle.one_holder(holder)
            yield Finding(
                HOLDER_MISMATCH, host, _describe(record),
                'recorded as assigned to instance %s, but instance %s '
                'holds it' % (record.instance_uuid, instance_uuid),
                '%s (records the instance that holds it)' % HEAL,
                heal=('assign', record, instance_uuid, migration_uuid))
        elif record.instance_uuid not in views.holders.moving:
            gone = record.instance_uuid not in views.instances
            yield Finding(
                LEAKED, host, _describe(record),
                'assigned to instance %s, which %s' % (
                    record.instance_uuid,
                    'no longer exists' if gone else 'no longer holds it'),
                '%s (quarantines it; nova-compute on %s then erases it)'
                % (HEAL, host),
                heal=('quarantine', record,
                      'audit: it was assigned to instance %s, which no '
                      'longer holds it: its contents are unknown'
                      % record.instance_uuid))


def _check_holders(views, recorded):
    for key, holder in sorted(views.holders.by_key.items()):
        rp_uuid, rc, name = key
        host = views.nodes.get(rp_uuid, rp_uuid)
        if len(holder) > 1:
            instances = ', '.join(sorted(holder))
            yield Finding(
                DOUBLE_ASSIGNED, host, '%s (%s)' % (name, rc),
                'instances %s all hold it' % instances,
                'not repaired automatically (each may have data in it): '
                'check the servers (openstack server show), delete or '
                'rebuild those that must not hold it, then run %s' % HEAL)
        if key not in recorded:
            yield Finding(
                UNRECORDED, host, '%s (%s)' % (name, rc),
                'instance %s holds it, but it has no namespace record' %
                ', '.join(sorted(holder)),
                'nova-compute on %s records it at its next resource '
                'update; if it no longer offers it, put it back into '
                '[libvirt]pmem_namespaces' % host)


def _check_placement(views, rp_uuid, rp_data):
    host = views.nodes.get(rp_uuid, rp_uuid)
    if isinstance(rp_data, str):
        yield Finding(PLACEMENT, host, 'provider %s' % rp_uuid,
                      'placement could not be read: %s' % rp_data,
                      'check [placement] in nova.conf, then run the audit '
                      'again')
        return
    records = [r for r in views.records if r.compute_node_uuid == rp_uuid]
    expected = collections.Counter(r.resource_class for r in records
                                   if r.state != State.FREE)
    # What the quarantine consumer counts: quarantined namespaces and
    # those a move's side keeps (lifecycle.held_back).
    quarantined = collections.Counter(r.resource_class for r in records
                                      if lifecycle.held_back(r))
    hold_uuid = report.quarantine_consumer(rp_uuid)
    held = _pmem(rp_data['consumers'].get(hold_uuid, {}))
    for consumer, amounts in sorted(rp_data['consumers'].items()):
        amounts = _pmem(amounts)
        if (not amounts or consumer == hold_uuid or
                consumer in views.instances or
                consumer in views.migrations):
            continue
        was = views.ended.get(consumer)
        yield Finding(
            ORPHANED, host, 'consumer %s' % consumer,
            '%s still counts %s' % (
                ('%s,' % was) if was else 'an unknown consumer %s' % consumer,
                _amounts(amounts)),
            ('%s (deletes its allocations)' % HEAL) if was else
            'not ours: find out who wrote it (openstack resource provider '
            'allocation show %s)' % consumer,
            heal=('delete-consumer', consumer) if was else None)
    yield from _check_instance_allocations(views, rp_uuid, rp_data, host)
    if held != {rc: n for rc, n in quarantined.items() if n}:
        yield Finding(
            PLACEMENT, host, 'quarantine consumer %s' % hold_uuid,
            'it counts %s; %s namespace(s) are quarantined or kept' % (
                _amounts(held) or 'nothing', _amounts(quarantined) or 'no'),
            '%s (sets it to the namespaces quarantined or kept)' % HEAL,
            heal=('set-hold', rp_uuid, dict(quarantined)))
    usages = _pmem(rp_data['usages'])
    for rc in sorted(set(usages) | set(expected)):
        if usages.get(rc, 0) != expected.get(rc, 0):
            yield Finding(
                PLACEMENT, host, rc,
                'placement counts %d in use, the namespace records %d '
                '(assigned, erasing or quarantined)' % (
                    usages.get(rc, 0), expected.get(rc, 0)),
                'repaired with the findings above by %s; otherwise run '
                'the audit again after nova-compute on %s updated its '
                'resources' % (HEAL, host))


def _check_instance_allocations(views, rp_uuid, rp_data, host):
    """Each settled instance's own allocation against what it holds.

    An instance with no move under way counts, in its own allocation on
    a provider, exactly the namespaces it holds there. They disagree
    after a revert that neither side could save (the record stays on the
    destination, whose kept namespaces the quarantine consumer counts,
    until the source's move recovery finishes it), or after a placement
    write lost outside nova.
    """
    moving = views.holders.moving
    holds = collections.defaultdict(collections.Counter)
    for (provider, rc, _name), holder in views.holders.by_key.items():
        if provider == rp_uuid:
            for instance_uuid in holder:
                holds[instance_uuid][rc] += 1
    counted = {consumer: _pmem(amounts)
               for consumer, amounts in rp_data['consumers'].items()
               if consumer in views.instances}
    for instance_uuid in sorted(set(holds) | set(counted)):
        if instance_uuid in moving:
            continue
        has = _pmem(holds.get(instance_uuid, {}))
        counts = counted.get(instance_uuid, {})
        if has == counts:
            continue
        yield Finding(
            PLACEMENT, host, 'instance %s' % instance_uuid,
            'its allocation counts %s, but it holds %s here' % (
                _amounts(counts) or 'no namespace',
                _amounts(has) or 'no namespace'),
            'not repaired by --heal (its record and its allocation '
            'disagree on where it runs): a revert that both hosts failed '
            'to save is finished by the source\'s nova-compute at its '
            'next move recovery; otherwise check the server and its moves '
            '(openstack server show %s; openstack server migration list '
            '--server %s)' % (instance_uuid, instance_uuid))


def _amounts(amounts):
    return ', '.join('%s:%d' % (rc, n) for rc, n in sorted(amounts.items())
                     if n)


def _time(value):
    return value.strftime('%Y-%m-%d %H:%M:%S') if value else '-'


# -- healing -------------------------------------------------------------

# Repairs run in passes, each on a fresh audit: the records first (they
# only ever withhold namespaces), then placement's stray consumers, then
# the quarantine consumers, whose right count the passes before decide.
HEAL_PASSES = (('quarantine', 'assign'), ('delete-consumer',),
               ('set-hold',))


def audit(context, reportclient, repair=False):
    """``(findings, repairs done)``; with ``repair``, heal first."""
    done = []
    if repair:
        for kinds in HEAL_PASSES:
            findings = compare(gather(context, reportclient))
            for finding in findings:
                if not finding.heal or finding.heal[0] not in kinds:
                    continue
                try:
                    done.append(_apply(context, reportclient, finding.heal))
                except Exception as exc:
                    LOG.debug('Repair of %s failed', finding, exc_info=True)
                    done.append('could not repair %s %s on %s: %s' % (
                        finding.kind, finding.what, finding.host, exc))
    return compare(gather(context, reportclient)), done


def _apply(context, reportclient, action):
    kind = action[0]
    if kind == 'quarantine':
        _kind, record, reason = action
        now = timeutils.utcnow()
        record.state = State.QUARANTINED
        record.reason = reason
        record.state_changed_at = now
        record.next_erase_at = now
        record.save(expected={'state': State.ASSIGNED,
                              'instance_uuid': record.instance_uuid})
        return 'quarantined %s on %s (%s)' % (_describe(record), record.host,
                                              reason)
    if kind == 'assign':
        _kind, record, instance_uuid, migration_uuid = action
        previous = {'state': record.state,
                    'instance_uuid': record.instance_uuid}
        record.state = State.ASSIGNED
        record.instance_uuid = instance_uuid
        record.migration_uuid = migration_uuid
        record.state_changed_at = timeutils.utcnow()
        record.save(expected=previous)
        return 'recorded %s on %s as assigned to instance %s' % (
            _describe(record), record.host, instance_uuid)
    if kind == 'delete-consumer':
        _kind, consumer = action
        reportclient.delete_allocations(context, consumer)
        return 'deleted the allocations of consumer %s' % consumer
    if kind == 'set-hold':
        _kind, rp_uuid, counts = action
        reportclient.set_quarantine_hold(context, rp_uuid, counts)
        return 'set the quarantine consumer of provider %s to %s' % (
            rp_uuid, _amounts(counts) or 'nothing')
    raise ValueError('unknown repair %r' % (action,))

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

"""The placement client: inventories, allocations, allocation candidates.

Placement owns quantities. This client is how nova-vpmem reads and writes
them, over HTTP through a keystoneauth1 adapter built from the
``[placement]`` options, with microversion headers and retries on
generation conflicts (another writer changed the provider or consumer
between our read and our write).
"""

import threading
import urllib.parse
import uuid

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging

import nova.conf
from nova import exception

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

GROUP = nova.conf.placement.PLACEMENT_GROUP

# Consumer types (placement >= 1.38) tell an instance's allocations from
# those a migration holds on the source during a move.
CONSUMER_TYPE_INSTANCE = 'INSTANCE'
CONSUMER_TYPE_MIGRATION = 'MIGRATION'

# Namespaces being erased or held after a failed erase are counted by a
# consumer each resource provider owns: placement then never offers them,
# and moving a unit from an instance or a migration to it is one atomic
# write. Its project and user are this service's, not a tenant's.
CONSUMER_TYPE_QUARANTINE = 'VPMEM_QUARANTINE'
QUARANTINE_PROJECT_ID = 'nova-vpmem'
QUARANTINE_USER_ID = 'nova-vpmem'
_QUARANTINE_NAMESPACE = uuid.UUID('5d6b0e9c-6f0a-4c59-9b54-2f1c8d1f7a31')

_CONCURRENT_UPDATE = 'placement.concurrent_update'
_INVENTORY_IN_USE = 'placement.inventory.inuse'


def quarantine_consumer(rp_uuid):
    """The consumer that holds a provider's quarantined namespaces.

    Derived from the provider, so every service (and nova-manage) finds
    the same one without storing it.
    """
    return str(uuid.uuid5(_QUARANTINE_NAMESPACE, 'vpmem-quarantine:%s'
                          % rp_uuid))


def configure_token_auth(conf, endpoint, token):
    """Point ``[placement]`` at ``endpoint`` with a fixed token.

    Used by the embedded deployment and tests, where placement runs
    in-process with ``noauth2`` and needs only an ``X-Auth-Token``.
    """
    conf.register_opts(ks_loading.get_auth_plugin_conf_options('admin_token'),
                       group=GROUP)
    conf.set_override('auth_type', 'admin_token', group=GROUP)
    conf.set_override('endpoint', endpoint, group=GROUP)
    conf.set_override('token', token, group=GROUP)


def _error_code(resp):
    try:
        return resp.json()['errors'][0].get('code')
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _error_detail(resp):
    try:
        return resp.json()['errors'][0].get('detail', resp.text)
    except (ValueError, KeyError, IndexError, TypeError):
        return resp.text


class SchedulerReportClient:
    """Client of the placement API for one service."""

    def __init__(self, adapter=None):
        self._adapter = adapter
        self._lock = threading.Lock()
        # Custom resource classes known to exist, to skip re-creating them.
        self._known_rcs = set()

    # -- transport -------------------------------------------------------

    @property
    def adapter(self):
        with self._lock:
            if self._adapter is None:
                self._adapter = self._create_adapter()
            return self._adapter

    @staticmethod
    def _create_adapter():
        auth = ks_loading.load_auth_from_conf_options(CONF, GROUP)
        session = ks_loading.load_session_from_conf_options(
            CONF, GROUP, auth=auth)
        return ks_loading.load_adapter_from_conf_options(
            CONF, GROUP, session=session, auth=auth,
            default_microversion=CONF.placement.microversion,
            raise_exc=False)

    def _request(self, method, url, body=None, global_request_id=None):
        kwargs = {}
        if body is not None:
            kwargs['json'] = body
        if global_request_id:
            kwargs['global_request_id'] = global_request_id
        try:
            resp = self.adapter.request(url, method, **kwargs)
        except ks_exc.ClientException as e:
            endpoint = (CONF.placement.endpoint_override or
                        getattr(CONF.placement, 'endpoint', None) or
                        'the catalog endpoint')
            raise exception.PlacementAPIConnectFailure(
                endpoint=endpoint, error=e)
        if resp.status_code >= 500:
            # An outage, not an answer: no caller may read it as a refusal.
            raise exception.PlacementUnavailable(
                reason='placement answered %d to %s %s: %s' % (
                    resp.status_code, method, url, _error_detail(resp)))
        return resp

    def _get(self, url, context=None):
        return self._request('GET', url, global_request_id=_req_id(context))

    def _put(self, url, body, context=None):
        return self._request('PUT', url, body, _req_id(context))

    def _post(self, url, body, context=None):
        return self._request('POST', url, body, _req_id(context))

    def _delete(self, url, context=None):
        return self._request('DELETE', url, global_request_id=_req_id(context))

    @staticmethod
    def _fail(resp, method, url):
        raise exception.PlacementRequestFailed(
            status=resp.status_code, method=method, url=url,
            detail=_error_detail(resp))

    # -- resource providers and inventory --------------------------------

    def get_provider(self, context, rp_uuid):
        """Return the provider's JSON, or None if placement lacks it."""
        url = '/resource_providers/%s' % rp_uuid
        resp = self._get(url, context)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            self._fail(resp, 'GET', url)
        return resp.json()

    def ensure_resource_provider(self, context, rp_uuid, name):
        """Create the provider if it does not exist; return its generation."""
        provider = self.get_provider(context, rp_uuid)
        if provider is not None:
            return provider['generation']
        body = {'uuid': rp_uuid, 'name': name}
        resp = self._post('/resource_providers', body, context)
        if resp.status_code == 200:
            return resp.json()['generation']
        if resp.status_code == 409:
            # Created by someone else meanwhile (a restart racing itself).
            provider = self.get_provider(context, rp_uuid)
            if provider is not None:
                return provider['generation']
        self._fail(resp, 'POST', '/resource_providers')

    def delete_resource_provider(self, context, rp_uuid):
        url = '/resource_providers/%s' % rp_uuid
        resp = self._delete(url, context)
        if resp.status_code not in (204, 404):
            self._fail(resp, 'DELETE', url)

    def ensure_resource_classes(self, context, resource_classes):
        for rc in resource_classes:
            if not rc.startswith('CUSTOM_') or rc in self._known_rcs:
                continue
            url = '/resource_classes/%s' % rc
            resp = self._put(url, None, context)
            if resp.status_code not in (201, 204):
                self._fail(resp, 'PUT', url)
            self._known_rcs.add(rc)

    def get_inventory(self, context, rp_uuid, create_as=None):
        """Return ``(generation, {rc: inventory})`` of a provider.

        With ``create_as`` (a name), a provider placement does not know is
        created first: a compute node exists at every update but its
        first, so it is read before asking whether it exists.
        """
        url = '/resource_providers/%s/inventories' % rp_uuid
        resp = self._get(url, context)
        if resp.status_code == 404 and create_as is not None:
            self.ensure_resource_provider(context, rp_uuid, create_as)
            resp = self._get(url, context)
        if resp.status_code != 200:
            self._fail(resp, 'GET', url)
        body = resp.json()
        return body['resource_provider_generation'], body['inventories']

    def set_inventory(self, context, rp_uuid, name, inventories):
        """Make the provider's inventory exactly ``inventories``.

        ``inventories`` maps resource class to placement's inventory
        fields (total, reserved, min_unit, max_unit, step_size,
        allocation_ratio). Classes left out are removed, which placement
        refuses (InventoryInUse) while something is allocated from them.
        """
        self.ensure_resource_classes(context, inventories)
        url = '/resource_providers/%s/inventories' % rp_uuid
        retries = CONF.placement.generation_conflict_retries
        generation = None
        for _attempt in range(retries + 1):
            generation, current = self.get_inventory(context, rp_uuid,
                                                     create_as=name)
            if current == inventories:
                return generation
            body = {'resource_provider_generation': generation,
                    'inventories': inventories}
            resp = self._put(url, body, context)
            if resp.status_code == 200:
                return resp.json()['resource_provider_generation']
            code = _error_code(resp)
            if resp.status_code == 409 and code == _INVENTORY_IN_USE:
                removed = sorted(set(current) - set(inventories))
                raise exception.InventoryInUse(
                    uuid=rp_uuid, resource_classes=', '.join(removed) or
                    _error_detail(resp))
            if resp.status_code == 409 and code == _CONCURRENT_UPDATE:
                LOG.debug('Inventory of %s changed under us, retrying',
                          rp_uuid)
                continue
            self._fail(resp, 'PUT', url)
        raise exception.ResourceProviderUpdateConflict(
            uuid=rp_uuid, retries=retries + 1, generation=generation)

    def get_usages(self, context, rp_uuid):
        """Return ``{rc: used}`` for one provider."""
        url = '/resource_providers/%s/usages' % rp_uuid
        resp = self._get(url, context)
        if resp.status_code != 200:
            self._fail(resp, 'GET', url)
        return resp.json()['usages']

    def get_provider_allocations(self, context, rp_uuid):
        """``{consumer uuid: {rc: amount}}`` of everything on a provider."""
        url = '/resource_providers/%s/allocations' % rp_uuid
        resp = self._get(url, context)
        if resp.status_code == 404:
            return {}
        if resp.status_code != 200:
            self._fail(resp, 'GET', url)
        return {consumer: dict(alloc['resources'])
                for consumer, alloc in resp.json()['allocations'].items()}

    # -- allocations -----------------------------------------------------

    def get_allocations_for_consumer(self, context, consumer_uuid):
        """Return the consumer's full allocation document.

        ``{'allocations': {rp_uuid: {'resources': {...}, 'generation'}},
        'consumer_generation': int or None, 'project_id', 'user_id',
        'consumer_type'}``; ``allocations`` is empty for an unknown
        consumer.
        """
        url = '/allocations/%s' % consumer_uuid
        resp = self._get(url, context)
        if resp.status_code != 200:
            raise exception.ConsumerAllocationRetrievalFailed(
                consumer_uuid=consumer_uuid, error=_error_detail(resp))
        return resp.json()

    def get_allocations_on_provider(self, context, consumer_uuid, rp_uuid):
        """Return ``{rc: amount}`` the consumer holds on one provider."""
        allocs = self.get_allocations_for_consumer(
            context, consumer_uuid)['allocations']
        return dict(allocs.get(rp_uuid, {}).get('resources', {}))

    def put_allocations(self, context, consumer_uuid, allocations,
                        project_id, user_id, consumer_generation,
                        consumer_type=CONSUMER_TYPE_INSTANCE):
        """Replace the consumer's allocations.

        ``allocations`` maps provider uuid to ``{rc: amount}``. Placement
        checks ``consumer_generation`` (None for a new consumer), so a
        concurrent writer makes this fail instead of being overwritten.
        Returns False (after logging why) when placement refuses, for
        example when a provider lacks the capacity.
        """
        url = '/allocations/%s' % consumer_uuid
        body = {
            'allocations': {rp: {'resources': res}
                            for rp, res in allocations.items()},
            'project_id': project_id,
            'user_id': user_id,
            'consumer_generation': consumer_generation,
            'consumer_type': consumer_type,
        }
        resp = self._put(url, body, context)
        if resp.status_code == 204:
            return True
        LOG.warning('Placement refused allocations of %(consumer)s: '
                    '%(status)s %(detail)s',
                    {'consumer': consumer_uuid, 'status': resp.status_code,
                     'detail': _error_detail(resp)})
        if resp.status_code == 409:
            return False
        self._fail(resp, 'PUT', url)

    def claim_resources(self, context, consumer_uuid, allocations,
                        project_id, user_id, consumer_generation=None):
        """Claim for an instance; raise AllocationUpdateFailed if refused."""
        if not self.put_allocations(context, consumer_uuid, allocations,
                                    project_id, user_id,
                                    consumer_generation):
            raise exception.AllocationUpdateFailed(
                consumer_uuid=consumer_uuid,
                error='placement refused the claim (capacity or a '
                      'concurrent update)')

    def move_and_claim(self, context, instance_uuid, instance_doc,
                       migration_uuid, destination):
        """Start a move with one atomic ``POST /allocations``.

        The migration consumer (new, so no generation) takes the
        instance's current allocations (``instance_doc``, as
        :meth:`get_allocations_for_consumer` returned it) and the instance
        consumer claims ``destination`` (``{rp_uuid: {rc: amount}}``)
        instead, checked against the generation read in ``instance_doc``.
        Placement applies both or neither, so no failure leaves a half
        move behind and nothing needs reading again.

        Returns False (after logging why) when placement refuses the
        destination's capacity: nothing changed, another candidate may be
        tried with the same ``instance_doc``. Raises AllocationMoveFailed
        when the instance's allocations changed since they were read
        (someone else owns the instance now).
        """
        owner = {'project_id': instance_doc['project_id'],
                 'user_id': instance_doc['user_id']}
        body = {
            instance_uuid: dict(
                owner, allocations={rp: {'resources': res}
                                    for rp, res in destination.items()},
                consumer_generation=instance_doc['consumer_generation'],
                consumer_type=CONSUMER_TYPE_INSTANCE),
            migration_uuid: dict(
                owner, allocations={
                    rp: {'resources': a['resources']}
                    for rp, a in instance_doc['allocations'].items()},
                consumer_generation=None,
                consumer_type=CONSUMER_TYPE_MIGRATION),
        }
        resp = self._post('/allocations', body, context)
        if resp.status_code == 204:
            return True
        detail = _error_detail(resp)
        if resp.status_code == 409 and _error_code(resp) != _CONCURRENT_UPDATE:
            LOG.warning('Placement refused to move instance %(uuid)s to '
                        '%(dest)s: %(detail)s',
                        {'uuid': instance_uuid,
                         'dest': ', '.join(sorted(destination)),
                         'detail': detail})
            return False
        raise exception.AllocationMoveFailed(
            source=instance_uuid, target=migration_uuid, error=detail)

    def revert_move_allocations(self, context, instance_uuid,
                                migration_uuid):
        """Undo a move's allocations in one atomic write; idempotent.

        During a move the migration consumer holds the source's allocations
        and the instance consumer the destination's. This gives the
        instance its source allocations back and drops the destination's
        (a namespace the destination could not erase was already moved to
        its quarantine consumer). Returns False when the migration holds
        nothing any more (reverted already, or never moved).
        """
        retries = CONF.placement.generation_conflict_retries
        for _attempt in range(retries + 1):
            instance = self.get_allocations_for_consumer(context,
                                                         instance_uuid)
            migration = self.get_allocations_for_consumer(context,
                                                          migration_uuid)
            if not migration['allocations']:
                LOG.debug('Migration %s holds no allocations: nothing to '
                          'give back to instance %s', migration_uuid,
                          instance_uuid)
                return False
            resp = self._post('/allocations', _revert_body(
                instance_uuid, instance, migration_uuid, migration), context)
            if resp.status_code == 204:
                return True
            if (resp.status_code == 409 and
                    _error_code(resp) == _CONCURRENT_UPDATE):
                continue
            raise exception.AllocationMoveFailed(
                source=migration_uuid, target=instance_uuid,
                error=_error_detail(resp))
        raise exception.AllocationMoveFailed(
            source=migration_uuid, target=instance_uuid,
            error='the consumers changed %d times meanwhile' % (retries + 1))

    def set_quarantine_hold(self, context, rp_uuid, amounts):
        """Make the provider's quarantine consumer hold exactly ``amounts``.

        ``amounts`` is ``{resource class: count}`` of the provider's
        quarantined namespaces. Returns False when it already did.
        """
        wanted = {rc: n for rc, n in amounts.items() if n > 0}

        def change(held, _giver_doc):
            return (wanted, None) if held != wanted else (None, None)

        return self._write_quarantine(context, rp_uuid, None, change)

    def move_to_quarantine(self, context, rp_uuid, giver, given):
        """Count ``given`` namespaces in the quarantine consumer instead
        of in ``giver``, in one atomic write.

        ``giver`` is the consumer that held them (an instance or a
        migration), ``given`` ``{resource class: count}``. Whatever the
        giver no longer holds is still added to the hold: the namespace
        must stay counted. Placement never counts one twice nor forgets
        it in between.
        """
        def change(held, giver_doc):
            wanted = dict(held)
            for rc, count in given.items():
                wanted[rc] = wanted.get(rc, 0) + count
            return wanted, _without(giver_doc, rp_uuid, given)

        return self._write_quarantine(context, rp_uuid, giver, change)

    def _write_quarantine(self, context, rp_uuid, giver, change):
        """Read, ``change(held, giver doc)``, write; retry on conflicts."""
        hold_uuid = quarantine_consumer(rp_uuid)
        retries = CONF.placement.generation_conflict_retries
        for _attempt in range(retries + 1):
            hold = self.get_allocations_for_consumer(context, hold_uuid)
            held = dict(hold['allocations'].get(rp_uuid, {}).get(
                'resources', {}))
            giver_doc = (self.get_allocations_for_consumer(context, giver)
                         if giver else None)
            wanted, giver_new = change(held, giver_doc)
            body = {}
            if wanted is not None:
                body[hold_uuid] = {
                    'allocations': ({rp_uuid: {'resources': wanted}}
                                    if wanted else {}),
                    'project_id': QUARANTINE_PROJECT_ID,
                    'user_id': QUARANTINE_USER_ID,
                    'consumer_generation': hold.get('consumer_generation'),
                    'consumer_type': CONSUMER_TYPE_QUARANTINE,
                }
            if giver_new is not None:
                body[giver] = giver_new
            if not body:
                return False
            resp = self._post('/allocations', body, context)
            if resp.status_code == 204:
                return True
            if (resp.status_code == 409 and
                    _error_code(resp) == _CONCURRENT_UPDATE):
                LOG.debug('Quarantine hold of %s changed under us, '
                          'retrying', rp_uuid)
                continue
            self._fail(resp, 'POST', '/allocations')
        raise exception.ResourceProviderUpdateConflict(
            uuid=rp_uuid, retries=retries + 1,
            generation='consumer %s' % hold_uuid)

    def get_quarantine_hold(self, context, rp_uuid):
        """``{rc: count}`` the provider's quarantine consumer holds."""
        doc = self.get_allocations_for_consumer(
            context, quarantine_consumer(rp_uuid))
        return dict(doc['allocations'].get(rp_uuid, {}).get('resources', {}))

    def drop_provider_allocations(self, context, consumer_uuid, rp_uuid):
        """Remove the consumer's allocations on one provider, keep the rest.

        One generation-checked write (retried on a concurrent update): a
        move's conductor drops the destination claim it made without
        taking away source allocations a recovering compute gave back to
        the instance meanwhile. Returns False when the consumer held
        nothing there.
        """
        retries = CONF.placement.generation_conflict_retries
        for _attempt in range(retries + 1):
            doc = self.get_allocations_for_consumer(context, consumer_uuid)
            held = doc['allocations'].get(rp_uuid)
            if not held:
                return False
            rest = _without(doc, rp_uuid, held['resources'])
            resp = self._post('/allocations', {consumer_uuid: rest}, context)
            if resp.status_code == 204:
                return True
            if (resp.status_code == 409 and
                    _error_code(resp) == _CONCURRENT_UPDATE):
                continue
            self._fail(resp, 'POST', '/allocations')
        raise exception.ResourceProviderUpdateConflict(
            uuid=rp_uuid, retries=retries + 1,
            generation='consumer %s' % consumer_uuid)

    def delete_allocations(self, context, consumer_uuid):
        """Remove every allocation of the consumer (absent is fine)."""
        url = '/allocations/%s' % consumer_uuid
        resp = self._delete(url, context)
        if resp.status_code not in (204, 404):
            self._fail(resp, 'DELETE', url)

    # -- scheduling ------------------------------------------------------

    def get_allocation_candidates(self, context, resources, limit=None):
        """Return ``(allocation_requests, provider_summaries)``.

        ``resources`` maps resource class to the amount one instance
        needs, all from one provider tree.
        """
        query = ','.join('%s:%d' % (rc, amount)
                         for rc, amount in sorted(resources.items()))
        url = '/allocation_candidates?resources=%s' % query
        if limit:
            url += '&limit=%d' % limit
        resp = self._get(url, context)
        if resp.status_code == 400:
            # Placement refuses the whole query when it does not know one
            # class (a label no host ever offered): find out which, only
            # on this path, so that the normal one costs no request more.
            unknown = self._unknown_resource_classes(context, resources)
            if unknown:
                raise exception.UnknownResourceClasses(
                    resource_classes=unknown)
        if resp.status_code != 200:
            self._fail(resp, 'GET', url)
        body = resp.json()
        return body['allocation_requests'], body['provider_summaries']

    def _unknown_resource_classes(self, context, resources):
        """The custom classes of ``resources`` placement does not know."""
        unknown = []
        for rc in sorted(resources):
            if not rc.startswith('CUSTOM_'):
                continue  # standard classes always exist
            url = '/resource_classes/%s' % urllib.parse.quote(rc, safe='')
            if self._get(url, context).status_code == 404:
                unknown.append(rc)
        return unknown


def _revert_body(instance_uuid, instance, migration_uuid, migration):
    """The POST /allocations body that gives the instance its source back."""
    owner = migration if migration.get('project_id') else instance

    def doc(allocs, generation, consumer_type):
        return {'allocations': {rp: {'resources': a['resources']}
                                for rp, a in allocs.items()},
                'project_id': owner['project_id'],
                'user_id': owner['user_id'],
                'consumer_generation': generation,
                'consumer_type': consumer_type}

    return {
        instance_uuid: doc(migration['allocations'],
                           instance.get('consumer_generation'),
                           CONSUMER_TYPE_INSTANCE),
        migration_uuid: doc({}, migration.get('consumer_generation'),
                            CONSUMER_TYPE_MIGRATION),
    }


def _without(doc, rp_uuid, amounts):
    """A consumer's allocation document less ``amounts`` on ``rp_uuid``.

    None when it holds none of them (nothing to write for it).
    """
    if not doc or not doc['allocations'].get(rp_uuid):
        return None
    allocations = {rp: dict(a['resources'])
                   for rp, a in doc['allocations'].items()}
    on_provider = allocations[rp_uuid]
    changed = False
    for rc, count in amounts.items():
        have = on_provider.get(rc, 0)
        if have and count > 0:
            changed = True
            if have > count:
                on_provider[rc] = have - count
            else:
                del on_provider[rc]
    if not changed:
        return None
    if not on_provider:
        del allocations[rp_uuid]
    return {
        'allocations': {rp: {'resources': res}
                        for rp, res in allocations.items()},
        'project_id': doc['project_id'],
        'user_id': doc['user_id'],
        'consumer_generation': doc.get('consumer_generation'),
        'consumer_type': doc.get('consumer_type', CONSUMER_TYPE_INSTANCE),
    }


def _req_id(context):
    return getattr(context, 'global_id', None) if context else None

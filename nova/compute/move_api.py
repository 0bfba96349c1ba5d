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

"""What the compute API does the same way to start any move.

A live and a cold migration both take the instance with a compare-and-swap
on ``task_state`` (of two concurrent requests exactly one gets past it),
record a Migration, and give the instance back if the record cannot be
made or the move is refused before it started.
"""

from oslo_log import log as logging

import nova.conf
from nova import exception
from nova import objects
from nova.objects import fields

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# What a conductor that refused a move leaves its migration in.
REFUSED_STATUSES = (fields.MigrationStatus.ERROR,
                    fields.MigrationStatus.FAILED,
                    fields.MigrationStatus.CANCELLED)


def check_idle(instance, allowed_vm_states, method):
    """InstanceInvalidState unless in ``allowed_vm_states`` and idle."""
    if instance.vm_state not in allowed_vm_states:
        raise exception.InstanceInvalidState(
            instance_uuid=instance.uuid, attr='vm_state',
            state=instance.vm_state, method=method)
    if instance.task_state is not None:
        raise exception.InstanceInvalidState(
            instance_uuid=instance.uuid, attr='task_state',
            state=instance.task_state, method=method)


def take_and_record(context, instance, host_name, allowed_vm_states,
                    task_state, action, **migration_fields):
    """Set ``task_state`` (compare-and-swap), create the Migration and
    start the request's instance action ``action``, in one transaction.

    ``host_name`` (the requested destination, or None) must be a compute
    host: ComputeHostNotFound (404) rather than a vaguer precheck error.
    If the instance is not idle in one of ``allowed_vm_states`` nothing is
    written (UnexpectedTaskStateError or UnexpectedVMStateError).
    """
    if host_name:
        objects.Service.get_by_compute_host(context, host_name)
    instance.task_state = task_state
    migration = objects.Migration(
        context, instance_uuid=instance.uuid,
        source_compute=instance.host, source_node=instance.node,
        dest_compute=host_name, user_id=context.user_id,
        project_id=context.project_id, **migration_fields)
    migration.create_taking_instance(
        instance, expected_task_state=[None],
        expected_vm_state=allowed_vm_states, action=action)
    return migration


def release(instance, task_state):
    """Make the instance idle again if ``task_state`` is still ours."""
    instance.task_state = None
    try:
        instance.save(expected_task_state=[task_state])
    except exception.UnexpectedTaskStateError:
        # Already idle (the conductor's rollback), or owned by another
        # operation: either way not ours to change.
        LOG.debug('Instance %s no longer in %s; left as is', instance.uuid,
                  task_state)


def answer_late(context, instance, migration, kind, why_refused):
    """The answer to a conductor call that timed out on a move.

    The migration record says how far the conductor got: refused (the
    reason ``why_refused(migration)`` gives is raised, as a timely refusal
    would have been); otherwise past its checks or still at them, and the
    request is accepted, as from microversion 2.34: an error would tell the
    client that a move which then happens had failed, while the migration
    record and the instance action tell how it ends. Nothing is reset: the
    conductor owns the outcome. ``kind``: 'live migration', for the log.
    """
    current = objects.Migration.get_by_id(context, migration.id)
    refused = current.status in REFUSED_STATUSES
    LOG.warning('No answer from the conductor within %(timeout)ss about the '
                '%(kind)s of instance %(uuid)s (migration %(migration)s is '
                '%(status)s): %(what)s',
                {'timeout': CONF.rpc_response_timeout, 'kind': kind,
                 'uuid': instance.uuid, 'migration': migration.uuid,
                 'status': current.status,
                 'what': 'it refused it meanwhile' if refused else
                 'accepted without waiting further; its record and the '
                 'instance action tell how it ends'})
    if refused:
        raise exception.MigrationPreCheckError(reason=why_refused(current))
    return current

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

"""Client side of the compute RPC API.

Other services call a compute host through :class:`ComputeAPI`; the
server side is :class:`nova.compute.manager.ComputeManager`.
"""

from nova import exception
from nova import rpc

RPC_TOPIC = 'compute'


class ComputeAPI(rpc.VersionedAPI):
    """Client side of the compute RPC API.

    API version history:

        * 1.0 - Initial version: ping
        * 1.1 - build_and_run_instance, terminate_instance
        * 1.2 - live migration: check_can_live_migrate_destination,
                drop_move_claim_at_destination, pre_live_migration,
                live_migration, live_migration_abort,
                live_migration_force_complete,
                post_live_migration_at_destination,
                rollback_live_migration_at_destination
        * 1.3 - cold migration: prep_resize, resize_instance,
                receive_vpmems, finish_resize, rollback_resize_at_destination,
                confirm_resize, revert_resize, finish_revert_resize
        * 1.4 - namespace lifecycle and recovery: retry_vpmem_erases,
                get_guest_state, recover_live_migration; ``outcome`` of
                rollback_live_migration_at_destination and
                rollback_resize_at_destination
        * 1.5 - get_host_uptime
        * 1.5 - power actions: stop_instance, start_instance,
                reboot_instance, pause_instance, unpause_instance
        * 1.6 - ``allocations`` of check_can_live_migrate_destination and
                prep_resize: the claim the conductor just wrote, so the
                destination does not read it back from placement

    Adding a method or an argument bumps the minor version here, in
    ``ComputeManager.target``, and in the service version history
    (``nova.objects.service.SERVICE_VERSION_HISTORY``), so that callers
    can tell which computes understand it. By default the client is capped
    at the version of the oldest nova-compute in the database.
    """

    TOPIC = RPC_TOPIC
    BINARY = 'nova-compute'
    HISTORY_KEY = 'compute_rpc'
    VERSION = '1.6'

    def ping(self, ctxt, host, arg, timeout=None):
        """Round trip to ``host``: returns ``{'host': host, 'arg': arg}``."""
        cctxt = self._prepare('ping', '1.0', server=host, timeout=timeout)
        return cctxt.call(ctxt, 'ping', arg=arg)

    def build_and_run_instance(self, ctxt, instance, host, node,
                               image_meta=None):
        """Ask ``host`` to claim, spawn and start ``instance`` (cast)."""
        cctxt = self._prepare('build_and_run_instance', '1.1', server=host)
        cctxt.cast(ctxt, 'build_and_run_instance', instance=instance,
                   node=node, image_meta=image_meta)

    def terminate_instance(self, ctxt, instance, host=None):
        """Ask ``host`` (by default the instance's) to destroy ``instance``
        and erase its vpmem (cast)."""
        cctxt = self._prepare('terminate_instance', '1.1',
                              server=host or instance.host)
        cctxt.cast(ctxt, 'terminate_instance', instance=instance)

    # Live migration (1.2). Calls to the destination carry its answer back;
    # the source runs the migration itself, so it is cast.

    def check_can_live_migrate_destination(self, ctxt, instance, destination,
                                           migration, block_migration,
                                           allocations=None):
        version, kwargs = self._with_allocations('1.2', destination,
                                                 allocations)
        cctxt = self._prepare('check_can_live_migrate_destination', version,
                              server=destination)
        return cctxt.call(ctxt, 'check_can_live_migrate_destination',
                          instance=instance, migration=migration,
                          block_migration=block_migration, **kwargs)

    def _with_allocations(self, version, host, allocations):
        # A 1.6 host takes the instance's allocations on it from the
        # caller; an older one reads them from placement itself.
        if allocations is not None and self._host_can_send(host, '1.6'):
            return '1.6', {'allocations': allocations}
        return version, {}

    def drop_move_claim_at_destination(self, ctxt, instance, migration,
                                       host):
        cctxt = self._prepare('drop_move_claim_at_destination', '1.2',
                              server=host)
        return cctxt.call(ctxt, 'drop_move_claim_at_destination',
                          instance=instance, migration=migration)

    def pre_live_migration(self, ctxt, instance, migrate_data, host):
        cctxt = self._prepare('pre_live_migration', '1.2', server=host)
        return cctxt.call(ctxt, 'pre_live_migration', instance=instance,
                          migrate_data=migrate_data)

    def live_migration(self, ctxt, instance, dest, migration, migrate_data,
                       host):
        cctxt = self._prepare('live_migration', '1.2', server=host)
        cctxt.cast(ctxt, 'live_migration', instance=instance, dest=dest,
                   migration=migration, migrate_data=migrate_data)

    def live_migration_abort(self, ctxt, instance, migration_id, host):
        cctxt = self._prepare('live_migration_abort', '1.2', server=host)
        return cctxt.call(ctxt, 'live_migration_abort', instance=instance,
                          migration_id=migration_id)

    def live_migration_force_complete(self, ctxt, instance, host):
        cctxt = self._prepare('live_migration_force_complete', '1.2',
                              server=host)
        return cctxt.call(ctxt, 'live_migration_force_complete',
                          instance=instance)

    def post_live_migration_at_destination(self, ctxt, instance, migration,
                                           host, timeout=None):
        cctxt = self._prepare('post_live_migration_at_destination', '1.2',
                              server=host, timeout=timeout)
        return cctxt.call(ctxt, 'post_live_migration_at_destination',
                          instance=instance, migration=migration)

    def rollback_live_migration_at_destination(self, ctxt, instance,
                                               migration, host,
                                               outcome=None, timeout=None):
        return self._rollback_at_destination(
            ctxt, 'rollback_live_migration_at_destination', '1.2', host,
            instance, migration, outcome, timeout)

    def _rollback_at_destination(self, ctxt, method, version, host,
                                 instance, migration, outcome, timeout=None):
        # A 1.4 destination is told how the migration ends, so a namespace
        # it quarantines settles the migration right once erased; an
        # older one settles it as failed.
        kwargs = {'instance': instance, 'migration': migration}
        if outcome is not None and self._host_can_send(host, '1.4'):
            version = '1.4'
            kwargs['outcome'] = outcome
        cctxt = self._prepare(method, version, server=host, timeout=timeout)
        return cctxt.call(ctxt, method, **kwargs)

    def _host_can_send(self, host, version):
        try:
            self._prepare('ping', version, server=host)
        except exception.RPCPinnedToOldVersion:
            return False
        return True

    # Cold migration (1.3). The destination claims and receives by call;
    # each host hands the flow to the next by cast.

    def prep_resize(self, ctxt, instance, migration, host, allocations=None):
        version, kwargs = self._with_allocations('1.3', host, allocations)
        cctxt = self._prepare('prep_resize', version, server=host)
        return cctxt.call(ctxt, 'prep_resize', instance=instance,
                          migration=migration, **kwargs)

    def resize_instance(self, ctxt, instance, migration, image_meta, host):
        cctxt = self._prepare('resize_instance', '1.3', server=host)
        cctxt.cast(ctxt, 'resize_instance', instance=instance,
                   migration=migration, image_meta=image_meta)

    def receive_vpmems(self, ctxt, instance, migration, host):
        cctxt = self._prepare('receive_vpmems', '1.3', server=host)
        return cctxt.call(ctxt, 'receive_vpmems', instance=instance,
                          migration=migration)

    def finish_resize(self, ctxt, instance, migration, image_meta, host):
        cctxt = self._prepare('finish_resize', '1.3', server=host)
        return cctxt.call(ctxt, 'finish_resize', instance=instance,
                          migration=migration, image_meta=image_meta)

    def rollback_resize_at_destination(self, ctxt, instance, migration,
                                       host, outcome=None):
        return self._rollback_at_destination(
            ctxt, 'rollback_resize_at_destination', '1.3', host, instance,
            migration, outcome)

    def confirm_resize(self, ctxt, instance, migration, host, wait=False):
        """Have the source erase its side (cast; a call with ``wait``)."""
        cctxt = self._prepare('confirm_resize', '1.3', server=host)
        send = cctxt.call if wait else cctxt.cast
        send(ctxt, 'confirm_resize', instance=instance, migration=migration)

    def revert_resize(self, ctxt, instance, migration, host):
        cctxt = self._prepare('revert_resize', '1.3', server=host)
        cctxt.cast(ctxt, 'revert_resize', instance=instance,
                   migration=migration)

    def finish_revert_resize(self, ctxt, instance, migration, host):
        cctxt = self._prepare('finish_revert_resize', '1.3', server=host)
        cctxt.cast(ctxt, 'finish_revert_resize', instance=instance,
                   migration=migration)

    # The namespace lifecycle (1.4).

    def retry_vpmem_erases(self, ctxt, host, names=None):
        """Ask ``host`` to erase its quarantined namespaces now (cast).

        ``names`` limits it to those namespaces; None retries the ones
        whose next attempt is due.
        """
        cctxt = self._prepare('retry_vpmem_erases', '1.4', server=host)
        cctxt.cast(ctxt, 'retry_vpmem_erases', names=names)

    def get_guest_state(self, ctxt, instance, host, timeout=None):
        """What ``host``'s hypervisor says of the instance's guest.

        ``{'power_state': ..., 'migration_job': 'in' | 'out' | None}``.
        """
        cctxt = self._prepare('get_guest_state', '1.4', server=host,
                              timeout=timeout)
        return cctxt.call(ctxt, 'get_guest_state', instance=instance)

    def recover_live_migration(self, ctxt, migration, host):
        """Ask ``host`` (the source) to settle a migration now (cast)."""
        cctxt = self._prepare('recover_live_migration', '1.4', server=host)
        cctxt.cast(ctxt, 'recover_live_migration', migration=migration)

    # Operators (1.5).

    def get_host_uptime(self, ctxt, host):
        """``host``'s uptime and load, as the ``uptime`` command prints it."""
        cctxt = self._prepare('get_host_uptime', '1.5', server=host)
        return cctxt.call(ctxt, 'get_host_uptime')

    # Power actions (1.5). Cast: the compute API has set the instance's
    # task_state, and the host clears it when done (or failed).

    def stop_instance(self, ctxt, instance, clean_shutdown=True):
        """Ask the instance's host to stop its guest (cast)."""
        cctxt = self._prepare('stop_instance', '1.5', server=instance.host)
        cctxt.cast(ctxt, 'stop_instance', instance=instance,
                   clean_shutdown=clean_shutdown)

    def start_instance(self, ctxt, instance):
        """Ask the instance's host to start its stopped guest (cast)."""
        cctxt = self._prepare('start_instance', '1.5', server=instance.host)
        cctxt.cast(ctxt, 'start_instance', instance=instance)

    def reboot_instance(self, ctxt, instance, reboot_type):
        """Ask the instance's host to reboot it, SOFT or HARD (cast)."""
        cctxt = self._prepare('reboot_instance', '1.5', server=instance.host)
        cctxt.cast(ctxt, 'reboot_instance', instance=instance,
                   reboot_type=reboot_type)

    def pause_instance(self, ctxt, instance):
        cctxt = self._prepare('pause_instance', '1.5', server=instance.host)
        cctxt.cast(ctxt, 'pause_instance', instance=instance)

    def unpause_instance(self, ctxt, instance):
        cctxt = self._prepare('unpause_instance', '1.5', server=instance.host)
        cctxt.cast(ctxt, 'unpause_instance', instance=instance)

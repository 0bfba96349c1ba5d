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

"""Service: one running nova-vpmem process (nova-compute on host X...).

Each service records its code's :data:`SERVICE_VERSION` in its row when
it starts. Callers ask the minimum over the running services (or the
version of one host's service) before using something new, and map that
version to RPC API versions through :data:`SERVICE_VERSION_HISTORY`.
"""

import threading
import time

from nova.db import api as db
from nova import exception
from nova.objects import base
from nova.objects import fields

# What each service version means, index = version. Append an entry (and
# never edit an old one) whenever a service gains something a peer must
# know about before it relies on it: an RPC method or argument, or a
# behaviour such as vpmem live migration support.
SERVICE_VERSION_HISTORY = (
    # Version 0: a service that never reported a version. Treated as the
    # oldest release, which spoke the 1.0 RPC APIs.
    {'compute_rpc': '1.0', 'conductor_rpc': '1.0'},
    # Version 1: the first versioned release.
    {'compute_rpc': '1.0', 'conductor_rpc': '1.0'},
    # Version 2: instances with vpmem boot and are deleted (compute
    # build_and_run_instance/terminate_instance, conductor build_instances).
    {'compute_rpc': '1.1', 'conductor_rpc': '1.1'},
    # Version 3: live migration of instances with vpmem (compute
    # check_can_live_migrate_destination ... rollback_live_migration_at_
    # destination, conductor live_migrate_instance). Both the source and
    # the destination must be at least this version.
    {'compute_rpc': '1.2', 'conductor_rpc': '1.2'},
    # Version 4: cold migration carrying vpmem contents (compute
    # prep_resize ... finish_revert_resize, conductor migrate_server).
    # Both the source and the destination must be at least this version.
    {'compute_rpc': '1.3', 'conductor_rpc': '1.3'},
    # Version 5: the namespace lifecycle: erase failures are quarantined
    # per namespace and retried (compute retry_vpmem_erases; the outcome
    # of a rollback at the destination).
    {'compute_rpc': '1.4', 'conductor_rpc': '1.3'},
    # Version 6: compute RPC 1.5, the operators' calls of the compute API
    # (get_host_uptime for /os-hypervisors, the server power actions).
    {'compute_rpc': '1.5', 'conductor_rpc': '1.3'},
    # Version 7: conductor RPC 1.4, live_migrate_instance as a cast
    # (async_, compute API 2.34+: the conductor records a refusal).
    {'compute_rpc': '1.5', 'conductor_rpc': '1.4'},
    # Version 8: compute RPC 1.6, the conductor hands the destination the
    # allocations it claimed there (check_can_live_migrate_destination,
    # prep_resize) instead of the destination reading them back.
    {'compute_rpc': '1.6', 'conductor_rpc': '1.4'},
)

# The first service version that can live-migrate an instance with vpmem.
VPMEM_LIVE_MIGRATION_VERSION = 3

# The first service version that can cold-migrate (and copies vpmem).
COLD_MIGRATION_VERSION = 4

# The version of the code running here: the last history entry.
SERVICE_VERSION = len(SERVICE_VERSION_HISTORY) - 1

COMPUTE_BINARY = 'nova-compute'

# How long recorded_version() keeps one host's answer. A migration sends
# up to five RPC messages to its two hosts within a second, each after
# asking the version of the host's service; one read serves them all. A
# version only changes when the service restarts: another process's
# restart is seen within this time, this process's own at once.
RECORDED_VERSION_TTL = 10.0
_recorded = {}
_recorded_lock = threading.Lock()


@base.NovaObjectRegistry.register
class Service(base.NovaPersistentObject, base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.IntegerField(read_only=True),
        'uuid': fields.UUIDField(),
        'host': fields.StringField(nullable=True),
        'binary': fields.StringField(nullable=True),
        'topic': fields.StringField(nullable=True),
        'report_count': fields.IntegerField(default=0),
        'disabled': fields.BooleanField(default=False),
        'disabled_reason': fields.StringField(nullable=True),
        'last_seen_up': fields.DateTimeField(nullable=True),
        'forced_down': fields.BooleanField(default=False),
        # 0 means the service never said (see SERVICE_VERSION_HISTORY).
        'version': fields.IntegerField(default=0),
    }

    @staticmethod
    def _from_db_object(context, service, db_service):
        base.fill_from_db(service, db_service)
        service._context = context
        service.obj_reset_changes()
        return service

    @classmethod
    @base.remotable
    def get_by_id(cls, context, service_id):
        return cls._from_db_object(context, cls(),
                                   db.service_get(context, service_id))

    @classmethod
    @base.remotable
    def get_by_uuid(cls, context, service_uuid):
        return cls._from_db_object(
            context, cls(), db.service_get_by_uuid(context, service_uuid))

    @classmethod
    @base.remotable
    def get_by_host_and_binary(cls, context, host, binary):
        """The service ``binary`` on ``host``; HostBinaryNotFound if none."""
        db_service = db.service_get_by_host_and_binary(context, host, binary)
        return cls._from_db_object(context, cls(), db_service)

    @classmethod
    @base.remotable
    def get_by_compute_host(cls, context, host):
        """The nova-compute service of ``host``; ComputeHostNotFound."""
        try:
            db_service = db.service_get_by_host_and_binary(
                context, host, COMPUTE_BINARY)
        except exception.HostBinaryNotFound:
            raise exception.ComputeHostNotFound(host=host)
        return cls._from_db_object(context, cls(), db_service)

    def _forget_recorded_version(self):
        if self.obj_attr_is_set('host') and self.obj_attr_is_set('binary'):
            forget_recorded_version(self.host, self.binary)

    @base.remotable
    def create(self):
        if not self.obj_attr_is_set('version'):
            self.version = SERVICE_VERSION
        base.create_record(self, db.service_create)
        self._forget_recorded_version()

    @base.remotable
    def save(self):
        version_changed = 'version' in self.obj_what_changed()
        base.save_record(self, db.service_update)
        if version_changed:
            self._forget_recorded_version()

    @base.remotable
    def destroy(self):
        db.service_destroy(self._context, self.id)
        self.deleted = True
        self.obj_reset_changes(['deleted'])
        self._forget_recorded_version()

    @classmethod
    def get_minimum_version_multi(cls, context, binaries):
        """The lowest version among the running services of ``binaries``.

        Deleted and forced-down services do not count. 0 if none runs, or
        if one of them never reported a version.
        """
        versions = db.service_get_minimum_version(context, list(binaries))
        known = [versions.get(binary) for binary in binaries]
        if not known or any(version is None for version in known):
            return 0
        return min(known)

    @classmethod
    @base.remotable
    def get_minimum_version(cls, context, binary):
        return cls.get_minimum_version_multi(context, [binary])


def recorded_version(context, host, binary):
    """The version in the service record of ``binary`` on ``host``.

    None when there is no record or it holds no version. Kept for
    RECORDED_VERSION_TTL seconds (a missing record is not kept).
    """
    key = (host, binary)
    now = time.monotonic()
    with _recorded_lock:
        known = _recorded.get(key)
    if known is not None and known[1] > now:
        return known[0]
    try:
        version = Service.get_by_host_and_binary(context, host,
                                                 binary).version
    except exception.NotFound:
        return None
    if version:
        with _recorded_lock:
            _recorded[key] = (version, now + RECORDED_VERSION_TTL)
    return version or None


def forget_recorded_version(host=None, binary=None):
    """Read the version of ``binary`` on ``host`` again next time; with
    no arguments, of every host."""
    with _recorded_lock:
        if host is None:
            _recorded.clear()
        else:
            _recorded.pop((host, binary), None)


@base.NovaObjectRegistry.register
class ServiceList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (Service 1.0)
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('Service'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0')],
    }

    @classmethod
    @base.remotable
    def get_all(cls, context, disabled=None):
        """Every service; only enabled or disabled ones if ``disabled``."""
        db_services = db.service_get_all(context, disabled=disabled)
        return base.obj_make_list(context, cls(context), Service,
                                  db_services)

    @classmethod
    @base.remotable
    def get_by_binary(cls, context, binary, include_disabled=False):
        """The services of ``binary``; disabled ones only when asked."""
        db_services = db.service_get_all_by_binary(
            context, binary, include_disabled=include_disabled)
        return base.obj_make_list(context, cls(context), Service,
                                  db_services)

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

"""SQLAlchemy models of the nova-vpmem tables.

The schema itself is created by the alembic migrations in
``nova/db/migrations``; these models describe the same tables for the DB
API's queries. A unit test compares the two so they cannot drift apart.

Soft delete: a deleted row keeps its data and gets ``deleted = id``, so
unique constraints that include ``deleted`` let a new live row reuse the
values of a deleted one.
"""

import sqlalchemy as sa
from oslo_utils import timeutils
from sqlalchemy import orm

# The migration type values a migrations row may hold.
MIGRATION_TYPES = ('migration', 'resize', 'live-migration', 'evacuation')


def _utcnow():
    # Looked up at call time so tests can override timeutils' clock.
    return timeutils.utcnow()


class Base(orm.DeclarativeBase):
    pass


class TimestampMixin:
    created_at = orm.mapped_column(sa.DateTime, default=_utcnow)
    updated_at = orm.mapped_column(sa.DateTime, onupdate=_utcnow)


class SoftDeleteMixin(TimestampMixin):
    deleted_at = orm.mapped_column(sa.DateTime)
    deleted = orm.mapped_column(sa.Integer, default=0, nullable=False)


class Service(SoftDeleteMixin, Base):
    """A nova service (nova-compute, nova-conductor) on one host."""

    __tablename__ = 'services'
    __table_args__ = (
        sa.UniqueConstraint('host', 'binary', 'deleted',
                            name='uniq_services0host0binary0deleted'),
        sa.UniqueConstraint('uuid', name='uniq_services0uuid'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    uuid = orm.mapped_column(sa.String(36), nullable=False)
    host = orm.mapped_column(sa.String(255))
    binary = orm.mapped_column(sa.String(255))
    topic = orm.mapped_column(sa.String(255))
    report_count = orm.mapped_column(sa.Integer, nullable=False, default=0)
    disabled = orm.mapped_column(sa.Boolean, nullable=False, default=False)
    disabled_reason = orm.mapped_column(sa.String(255))
    last_seen_up = orm.mapped_column(sa.DateTime)
    forced_down = orm.mapped_column(sa.Boolean, nullable=False,
                                    default=False)
    version = orm.mapped_column(sa.Integer, nullable=False, default=0)


class ComputeNode(SoftDeleteMixin, Base):
    """The resources of one hypervisor node of a compute host."""

    __tablename__ = 'compute_nodes'
    __table_args__ = (
        sa.UniqueConstraint(
            'host', 'hypervisor_hostname', 'deleted',
            name='uniq_compute_nodes0host0hypervisor_hostname0deleted'),
        sa.UniqueConstraint('uuid', name='uniq_compute_nodes0uuid'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    uuid = orm.mapped_column(sa.String(36), nullable=False)
    host = orm.mapped_column(sa.String(255))
    hypervisor_hostname = orm.mapped_column(sa.String(255))
    hypervisor_type = orm.mapped_column(sa.String(255))
    hypervisor_version = orm.mapped_column(sa.Integer)
    vcpus = orm.mapped_column(sa.Integer)
    memory_mb = orm.mapped_column(sa.Integer)
    local_gb = orm.mapped_column(sa.Integer)
    vcpus_used = orm.mapped_column(sa.Integer, nullable=False, default=0)
    memory_mb_used = orm.mapped_column(sa.Integer, nullable=False,
                                       default=0)
    local_gb_used = orm.mapped_column(sa.Integer, nullable=False, default=0)
    # No server default: MySQL refuses one on TEXT columns.
    cpu_info = orm.mapped_column(sa.Text, default='')
    service_id = orm.mapped_column(sa.Integer)
    # The address the hypervisor views show (2.88 and before).
    host_ip = orm.mapped_column(sa.String(39))


class Flavor(TimestampMixin, Base):
    """A flavor. Flavors are deleted for real, not soft-deleted."""

    __tablename__ = 'flavors'
    __table_args__ = (
        sa.UniqueConstraint('flavorid', name='uniq_flavors0flavorid'),
        sa.UniqueConstraint('name', name='uniq_flavors0name'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    flavorid = orm.mapped_column(sa.String(255), nullable=False)
    name = orm.mapped_column(sa.String(255), nullable=False)
    memory_mb = orm.mapped_column(sa.Integer, nullable=False)
    vcpus = orm.mapped_column(sa.Integer, nullable=False)
    root_gb = orm.mapped_column(sa.Integer, nullable=False, default=0)
    ephemeral_gb = orm.mapped_column(sa.Integer, nullable=False, default=0)
    swap = orm.mapped_column(sa.Integer, nullable=False, default=0)
    disabled = orm.mapped_column(sa.Boolean, nullable=False, default=False)
    is_public = orm.mapped_column(sa.Boolean, nullable=False, default=True)
    description = orm.mapped_column(sa.Text)


class FlavorProject(TimestampMixin, Base):
    """A project that may use a private flavor (os-flavor-access)."""

    __tablename__ = 'flavor_projects'
    __table_args__ = (
        sa.UniqueConstraint('flavor_id', 'project_id',
                            name='uniq_flavor_projects0flavor_id0project_id'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    flavor_id = orm.mapped_column(
        sa.Integer,
        sa.ForeignKey('flavors.id', ondelete='CASCADE',
                      name='flavor_projects_flavor_id_fkey'),
        nullable=False)
    project_id = orm.mapped_column(sa.String(255), nullable=False)


class FlavorExtraSpec(TimestampMixin, Base):
    """One key/value extra spec of a flavor (e.g. ``hw:pmem``)."""

    __tablename__ = 'flavor_extra_specs'
    __table_args__ = (
        sa.UniqueConstraint('flavor_id', 'key',
                            name='uniq_flavor_extra_specs0flavor_id0key'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    flavor_id = orm.mapped_column(
        sa.Integer,
        sa.ForeignKey('flavors.id', ondelete='CASCADE',
                      name='flavor_extra_specs_flavor_id_fkey'),
        nullable=False)
    key = orm.mapped_column(sa.String(255), nullable=False)
    value = orm.mapped_column(sa.String(255))


class Instance(SoftDeleteMixin, Base):
    """An instance (server)."""

    __tablename__ = 'instances'
    __table_args__ = (
        sa.UniqueConstraint('uuid', name='uniq_instances0uuid'),
        sa.Index('instances_host_node_deleted_idx', 'host', 'node',
                 'deleted'),
        sa.Index('instances_project_id_deleted_idx', 'project_id',
                 'deleted'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    uuid = orm.mapped_column(sa.String(36), nullable=False)
    user_id = orm.mapped_column(sa.String(255))
    project_id = orm.mapped_column(sa.String(255))
    display_name = orm.mapped_column(sa.String(255))
    host = orm.mapped_column(sa.String(255))
    node = orm.mapped_column(sa.String(255))
    launched_on = orm.mapped_column(sa.String(255))
    vm_state = orm.mapped_column(sa.String(255))
    task_state = orm.mapped_column(sa.String(255))
    power_state = orm.mapped_column(sa.Integer, nullable=False, default=0)
    memory_mb = orm.mapped_column(sa.Integer)
    vcpus = orm.mapped_column(sa.Integer)
    root_gb = orm.mapped_column(sa.Integer)
    ephemeral_gb = orm.mapped_column(sa.Integer)
    image_ref = orm.mapped_column(sa.String(255))
    launched_at = orm.mapped_column(sa.DateTime)
    terminated_at = orm.mapped_column(sa.DateTime)
    instance_type_id = orm.mapped_column(sa.Integer)
    display_description = orm.mapped_column(sa.Text)
    # A locked server refuses actions from non-administrators; locked_by
    # is 'owner' or 'admin' (who may unlock it).
    locked = orm.mapped_column(sa.Boolean, nullable=False, default=False,
                               server_default=sa.false())
    locked_by = orm.mapped_column(sa.String(255))
    locked_reason = orm.mapped_column(sa.String(255))
    # The name of the owner's key pair it was booted with (not a foreign
    # key: the key pair may be deleted, the server keeps the name, as Nova).
    key_name = orm.mapped_column(sa.String(255))


# The kinds of key pair (os-keypairs ``type``, 2.2).
KEYPAIR_TYPES = ('ssh', 'x509')


class KeyPair(SoftDeleteMixin, Base):
    """A user's public key (os-keypairs), named per user."""

    __tablename__ = 'key_pairs'
    __table_args__ = (
        sa.UniqueConstraint('user_id', 'name', 'deleted',
                            name='uniq_key_pairs0user_id0name0deleted'),
        sa.CheckConstraint(sa.column('type').in_(KEYPAIR_TYPES),
                           name='ck_key_pairs_type'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    name = orm.mapped_column(sa.String(255), nullable=False)
    user_id = orm.mapped_column(sa.String(255), nullable=False)
    fingerprint = orm.mapped_column(sa.String(255))
    public_key = orm.mapped_column(sa.Text)
    type = orm.mapped_column(sa.String(8), nullable=False, default='ssh',
                             server_default='ssh')


# The text columns of instance_extra, each holding one object's JSON.
INSTANCE_EXTRA_COLUMNS = ('flavor', 'resources', 'migration_context',
                          'numa_topology')


class InstanceExtra(SoftDeleteMixin, Base):
    """Serialized objects that belong to one instance."""

    __tablename__ = 'instance_extra'
    __table_args__ = (
        sa.UniqueConstraint('instance_uuid',
                            name='uniq_instance_extra0instance_uuid'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    instance_uuid = orm.mapped_column(
        sa.String(36),
        sa.ForeignKey('instances.uuid',
                      name='instance_extra_instance_uuid_fkey'),
        nullable=False)
    flavor = orm.mapped_column(sa.Text)
    resources = orm.mapped_column(sa.Text)
    migration_context = orm.mapped_column(sa.Text)
    numa_topology = orm.mapped_column(sa.Text)


class InstanceFault(SoftDeleteMixin, Base):
    """An error recorded against an instance."""

    __tablename__ = 'instance_faults'
    __table_args__ = (
        sa.Index('instance_faults_instance_uuid_deleted_created_at_idx',
                 'instance_uuid', 'deleted', 'created_at'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    instance_uuid = orm.mapped_column(
        sa.String(36),
        sa.ForeignKey('instances.uuid',
                      name='instance_faults_instance_uuid_fkey'),
        nullable=False)
    code = orm.mapped_column(sa.Integer, nullable=False)
    message = orm.mapped_column(sa.String(255))
    details = orm.mapped_column(sa.Text)
    host = orm.mapped_column(sa.String(255))


class Migration(SoftDeleteMixin, Base):
    """A move of an instance between hosts (live or cold)."""

    __tablename__ = 'migrations'
    __table_args__ = (
        sa.UniqueConstraint('uuid', name='uniq_migrations0uuid'),
        sa.CheckConstraint(
            sa.column('migration_type').in_(MIGRATION_TYPES),
            name='ck_migrations_migration_type'),
        sa.Index('migrations_instance_uuid_and_status_idx',
                 'deleted', 'instance_uuid', 'status'),
        # One index per side rather than one over all five columns: MySQL
        # caps an index key at 3072 bytes, 765 characters of utf8mb4. The
        # status lets a host find its moves in progress without reading
        # its (ever growing) history of finished ones.
        sa.Index('migrations_source_compute_node_status_idx',
                 'source_compute', 'source_node', 'status'),
        sa.Index('migrations_dest_compute_node_status_idx',
                 'dest_compute', 'dest_node', 'status'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    uuid = orm.mapped_column(sa.String(36), nullable=False)
    source_compute = orm.mapped_column(sa.String(255))
    dest_compute = orm.mapped_column(sa.String(255))
    source_node = orm.mapped_column(sa.String(255))
    dest_node = orm.mapped_column(sa.String(255))
    dest_host = orm.mapped_column(sa.String(255))
    instance_uuid = orm.mapped_column(
        sa.String(36),
        sa.ForeignKey('instances.uuid',
                      name='migrations_instance_uuid_fkey'))
    old_instance_type_id = orm.mapped_column(sa.Integer)
    new_instance_type_id = orm.mapped_column(sa.Integer)
    migration_type = orm.mapped_column(sa.String(32))
    status = orm.mapped_column(sa.String(255))
    hidden = orm.mapped_column(sa.Boolean, nullable=False, default=False)
    memory_total = orm.mapped_column(sa.BigInteger)
    memory_processed = orm.mapped_column(sa.BigInteger)
    memory_remaining = orm.mapped_column(sa.BigInteger)
    disk_total = orm.mapped_column(sa.BigInteger)
    disk_processed = orm.mapped_column(sa.BigInteger)
    disk_remaining = orm.mapped_column(sa.BigInteger)
    user_id = orm.mapped_column(sa.String(255))
    project_id = orm.mapped_column(sa.String(255))


# The states of a vpmem namespace (see nova/compute/namespace_lifecycle.py).
VPMEM_NAMESPACE_STATES = ('free', 'assigned', 'erasing', 'quarantined')


class VPMEMNamespace(TimestampMixin, Base):
    """The lifecycle state of one persistent memory namespace of a host.

    Kept per (compute node, resource class, namespace name), apart from
    any instance, so that "do not hand this out" outlives the instance or
    migration that gave the namespace up. Rows are state, not history: no
    soft delete. The compute node's resource tracker is the only writer,
    except ``nova-manage vpmem``, which writes through compare-and-swap.
    """

    __tablename__ = 'vpmem_namespaces'
    __table_args__ = (
        sa.UniqueConstraint(
            'compute_node_uuid', 'resource_class', 'name',
            name='uniq_vpmem_namespaces0compute_node_uuid0resource_class0'
                 'name'),
        sa.CheckConstraint(
            sa.column('state').in_(VPMEM_NAMESPACE_STATES),
            name='ck_vpmem_namespaces_state'),
        sa.Index('vpmem_namespaces_host_idx', 'host'),
        sa.Index('vpmem_namespaces_instance_uuid_idx', 'instance_uuid'),
        sa.Index('vpmem_namespaces_migration_uuid_idx', 'migration_uuid'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    # The resource provider the namespace is counted on.
    compute_node_uuid = orm.mapped_column(sa.String(36), nullable=False)
    host = orm.mapped_column(sa.String(255), nullable=False)
    resource_class = orm.mapped_column(sa.String(255), nullable=False)
    name = orm.mapped_column(sa.String(255), nullable=False)
    devpath = orm.mapped_column(sa.String(4096))
    state = orm.mapped_column(sa.String(16), nullable=False)
    # assigned: the holder; erasing and quarantined: where it came from.
    instance_uuid = orm.mapped_column(sa.String(36))
    migration_uuid = orm.mapped_column(sa.String(36))
    # The status the migration above takes once this namespace is erased.
    migration_final_status = orm.mapped_column(sa.String(255))
    reason = orm.mapped_column(sa.Text)
    state_changed_at = orm.mapped_column(sa.DateTime)
    erase_attempts = orm.mapped_column(sa.Integer, nullable=False,
                                       default=0)
    next_erase_at = orm.mapped_column(sa.DateTime)


# What a pending placement write does (nova/compute/placement_work.py).
PENDING_PLACEMENT_KINDS = ('delete_allocations', 'revert_move')


class PendingPlacementWork(TimestampMixin, Base):
    """A placement write a compute owes, kept while placement is away.

    ``delete_allocations``: drop every allocation of ``consumer_uuid``;
    ``revert_move``: give instance ``consumer_uuid`` the source
    allocations migration ``migration_uuid`` holds. Both are idempotent.
    """

    __tablename__ = 'pending_placement_work'
    __table_args__ = (
        sa.UniqueConstraint(
            'host', 'kind', 'consumer_uuid',
            name='uniq_pending_placement_work0host0kind0consumer_uuid'),
        sa.CheckConstraint(
            sa.column('kind').in_(PENDING_PLACEMENT_KINDS),
            name='ck_pending_placement_work_kind'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    host = orm.mapped_column(sa.String(255), nullable=False)
    kind = orm.mapped_column(sa.String(32), nullable=False)
    consumer_uuid = orm.mapped_column(sa.String(36), nullable=False)
    migration_uuid = orm.mapped_column(sa.String(36))
    attempts = orm.mapped_column(sa.Integer, nullable=False, default=0)
    last_error = orm.mapped_column(sa.Text)
    next_attempt_at = orm.mapped_column(sa.DateTime)


class InstanceAction(SoftDeleteMixin, Base):
    """One thing done to an instance (a live migration, a delete...)."""

    __tablename__ = 'instance_actions'
    __table_args__ = (
        sa.Index('instance_actions_instance_uuid_idx', 'instance_uuid'),
        sa.Index('instance_actions_request_id_idx', 'request_id'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    action = orm.mapped_column(sa.String(255))
    instance_uuid = orm.mapped_column(sa.String(36), nullable=False)
    request_id = orm.mapped_column(sa.String(255))
    user_id = orm.mapped_column(sa.String(255))
    project_id = orm.mapped_column(sa.String(255))
    start_time = orm.mapped_column(sa.DateTime)
    finish_time = orm.mapped_column(sa.DateTime)
    message = orm.mapped_column(sa.String(255))


class InstanceActionEvent(SoftDeleteMixin, Base):
    """One step of an instance action and how it ended."""

    __tablename__ = 'instance_actions_events'
    __table_args__ = (
        sa.Index('instance_actions_events_action_id_idx', 'action_id'),
    )

    id = orm.mapped_column(sa.Integer, primary_key=True)
    event = orm.mapped_column(sa.String(255))
    action_id = orm.mapped_column(
        sa.Integer,
        sa.ForeignKey('instance_actions.id',
                      name='instance_actions_events_action_id_fkey'),
        nullable=False)
    start_time = orm.mapped_column(sa.DateTime)
    finish_time = orm.mapped_column(sa.DateTime)
    result = orm.mapped_column(sa.String(255))
    traceback = orm.mapped_column(sa.Text)
    host = orm.mapped_column(sa.String(255))
    details = orm.mapped_column(sa.Text)

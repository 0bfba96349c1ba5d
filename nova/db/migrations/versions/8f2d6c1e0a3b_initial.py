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

"""Initial schema: services, compute nodes, flavors, instances, migrations.

Revision ID: 8f2d6c1e0a3b
Revises:
Create Date: 2024-01-01 00:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '8f2d6c1e0a3b'
down_revision = None
branch_labels = None
depends_on = None

# MySQL tables need InnoDB for foreign keys and transactions; the options
# are ignored by other backends.
_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _timestamps():
    return [sa.Column('created_at', sa.DateTime),
            sa.Column('updated_at', sa.DateTime)]


def _soft_delete():
    return _timestamps() + [
        sa.Column('deleted_at', sa.DateTime),
        sa.Column('deleted', sa.Integer, nullable=False),
    ]


def _id():
    return sa.Column('id', sa.Integer, primary_key=True, autoincrement=True)


def upgrade():
    op.create_table(
        'services',
        _id(),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('host', sa.String(255)),
        sa.Column('binary', sa.String(255)),
        sa.Column('topic', sa.String(255)),
        sa.Column('report_count', sa.Integer, nullable=False),
        sa.Column('disabled', sa.Boolean, nullable=False),
        sa.Column('disabled_reason', sa.String(255)),
        sa.Column('last_seen_up', sa.DateTime),
        sa.Column('forced_down', sa.Boolean, nullable=False),
        sa.Column('version', sa.Integer, nullable=False),
        *_soft_delete(),
        sa.UniqueConstraint('host', 'binary', 'deleted',
                            name='uniq_services0host0binary0deleted'),
        sa.UniqueConstraint('uuid', name='uniq_services0uuid'),
        **_TABLE_ARGS)

    op.create_table(
        'compute_nodes',
        _id(),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('host', sa.String(255)),
        sa.Column('hypervisor_hostname', sa.String(255)),
        sa.Column('hypervisor_type', sa.String(255)),
        sa.Column('hypervisor_version', sa.Integer),
        sa.Column('vcpus', sa.Integer),
        sa.Column('memory_mb', sa.Integer),
        sa.Column('local_gb', sa.Integer),
        sa.Column('vcpus_used', sa.Integer, nullable=False),
        sa.Column('memory_mb_used', sa.Integer, nullable=False),
        sa.Column('local_gb_used', sa.Integer, nullable=False),
        sa.Column('cpu_info', sa.Text),
        sa.Column('service_id', sa.Integer),
        *_soft_delete(),
        sa.UniqueConstraint(
            'host', 'hypervisor_hostname', 'deleted',
            name='uniq_compute_nodes0host0hypervisor_hostname0deleted'),
        sa.UniqueConstraint('uuid', name='uniq_compute_nodes0uuid'),
        **_TABLE_ARGS)

    op.create_table(
        'flavors',
        _id(),
        sa.Column('flavorid', sa.String(255), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('memory_mb', sa.Integer, nullable=False),
        sa.Column('vcpus', sa.Integer, nullable=False),
        sa.Column('root_gb', sa.Integer, nullable=False),
        sa.Column('ephemeral_gb', sa.Integer, nullable=False),
        sa.Column('swap', sa.Integer, nullable=False),
        sa.Column('disabled', sa.Boolean, nullable=False),
        sa.Column('is_public', sa.Boolean, nullable=False),
        sa.Column('description', sa.Text),
        *_timestamps(),
        sa.UniqueConstraint('flavorid', name='uniq_flavors0flavorid'),
        sa.UniqueConstraint('name', name='uniq_flavors0name'),
        **_TABLE_ARGS)

    op.create_table(
        'flavor_extra_specs',
        _id(),
        sa.Column('flavor_id', sa.Integer,
                  sa.ForeignKey('flavors.id', ondelete='CASCADE',
                                name='flavor_extra_specs_flavor_id_fkey'),
                  nullable=False),
        sa.Column('key', sa.String(255), nullable=False),
        sa.Column('value', sa.String(255)),
        *_timestamps(),
        sa.UniqueConstraint('flavor_id', 'key',
                            name='uniq_flavor_extra_specs0flavor_id0key'),
        **_TABLE_ARGS)

    op.create_table(
        'instances',
        _id(),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('user_id', sa.String(255)),
        sa.Column('project_id', sa.String(255)),
        sa.Column('display_name', sa.String(255)),
        sa.Column('host', sa.String(255)),
        sa.Column('node', sa.String(255)),
        sa.Column('launched_on', sa.String(255)),
        sa.Column('vm_state', sa.String(255)),
        sa.Column('task_state', sa.String(255)),
        sa.Column('power_state', sa.Integer, nullable=False),
        sa.Column('memory_mb', sa.Integer),
        sa.Column('vcpus', sa.Integer),
        sa.Column('root_gb', sa.Integer),
        sa.Column('ephemeral_gb', sa.Integer),
        sa.Column('image_ref', sa.String(255)),
        sa.Column('launched_at', sa.DateTime),
        sa.Column('terminated_at', sa.DateTime),
        sa.Column('instance_type_id', sa.Integer),
        *_soft_delete(),
        sa.UniqueConstraint('uuid', name='uniq_instances0uuid'),
        **_TABLE_ARGS)
    op.create_index('instances_host_node_deleted_idx', 'instances',
                    ['host', 'node', 'deleted'])
    op.create_index('instances_project_id_deleted_idx', 'instances',
                    ['project_id', 'deleted'])

    op.create_table(
        'instance_extra',
        _id(),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey('instances.uuid',
                                name='instance_extra_instance_uuid_fkey'),
                  nullable=False),
        sa.Column('flavor', sa.Text),
        sa.Column('resources', sa.Text),
        sa.Column('migration_context', sa.Text),
        sa.Column('numa_topology', sa.Text),
        *_soft_delete(),
        sa.UniqueConstraint('instance_uuid',
                            name='uniq_instance_extra0instance_uuid'),
        **_TABLE_ARGS)

    op.create_table(
        'instance_faults',
        _id(),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey('instances.uuid',
                                name='instance_faults_instance_uuid_fkey'),
                  nullable=False),
        sa.Column('code', sa.Integer, nullable=False),
        sa.Column('message', sa.String(255)),
        sa.Column('details', sa.Text),
        sa.Column('host', sa.String(255)),
        *_soft_delete(),
        **_TABLE_ARGS)
    op.create_index('instance_faults_instance_uuid_deleted_created_at_idx',
                    'instance_faults',
                    ['instance_uuid', 'deleted', 'created_at'])

    op.create_table(
        'migrations',
        _id(),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('source_compute', sa.String(255)),
        sa.Column('dest_compute', sa.String(255)),
        sa.Column('source_node', sa.String(255)),
        sa.Column('dest_node', sa.String(255)),
        sa.Column('dest_host', sa.String(255)),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey('instances.uuid',
                                name='migrations_instance_uuid_fkey')),
        sa.Column('old_instance_type_id', sa.Integer),
        sa.Column('new_instance_type_id', sa.Integer),
        sa.Column('migration_type', sa.String(32)),
        sa.Column('status', sa.String(255)),
        sa.Column('hidden', sa.Boolean, nullable=False),
        sa.Column('memory_total', sa.BigInteger),
        sa.Column('memory_processed', sa.BigInteger),
        sa.Column('memory_remaining', sa.BigInteger),
        sa.Column('disk_total', sa.BigInteger),
        sa.Column('disk_processed', sa.BigInteger),
        sa.Column('disk_remaining', sa.BigInteger),
        sa.Column('user_id', sa.String(255)),
        sa.Column('project_id', sa.String(255)),
        *_soft_delete(),
        sa.UniqueConstraint('uuid', name='uniq_migrations0uuid'),
        sa.CheckConstraint(
            "migration_type IN ('migration', 'resize', 'live-migration', "
            "'evacuation')",
            name='ck_migrations_migration_type'),
        **_TABLE_ARGS)
    op.create_index('migrations_instance_uuid_and_status_idx', 'migrations',
                    ['deleted', 'instance_uuid', 'status'])
    # Host/node lookups match the source or the destination side; one
    # index per side keeps each key under MySQL's 3072-byte limit.
    op.create_index('migrations_source_compute_node_idx', 'migrations',
                    ['source_compute', 'source_node'])
    op.create_index('migrations_dest_compute_node_idx', 'migrations',
                    ['dest_compute', 'dest_node'])

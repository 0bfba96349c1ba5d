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

"""The namespace lifecycle table; host/node/status indexes on migrations.

``vpmem_namespaces`` keeps the state of every persistent memory namespace
(free, assigned, erasing, quarantined) apart from any instance. The
migrations' host/node indexes gain the status, so a compute finds its
moves in progress without reading its history.

Revision ID: 3c1f7a9d2b64
Revises: 8f2d6c1e0a3b
Create Date: 2026-12-05 00:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '3c1f7a9d2b64'
down_revision = '8f2d6c1e0a3b'
branch_labels = None
depends_on = None

_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def upgrade():
    op.create_table(
        'vpmem_namespaces',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.Column('compute_node_uuid', sa.String(36), nullable=False),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('resource_class', sa.String(255), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('devpath', sa.String(4096)),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('instance_uuid', sa.String(36)),
        sa.Column('migration_uuid', sa.String(36)),
        sa.Column('migration_final_status', sa.String(255)),
        sa.Column('reason', sa.Text),
        sa.Column('state_changed_at', sa.DateTime),
        sa.Column('erase_attempts', sa.Integer, nullable=False),
        sa.Column('next_erase_at', sa.DateTime),
        sa.UniqueConstraint(
            'compute_node_uuid', 'resource_class', 'name',
            name='uniq_vpmem_namespaces0compute_node_uuid0resource_class0'
                 'name'),
        sa.CheckConstraint(
            "state IN ('free', 'assigned', 'erasing', 'quarantined')",
            name='ck_vpmem_namespaces_state'),
        **_TABLE_ARGS)
    op.create_index('vpmem_namespaces_host_idx', 'vpmem_namespaces',
                    ['host'])
    op.create_index('vpmem_namespaces_instance_uuid_idx',
                    'vpmem_namespaces', ['instance_uuid'])
    op.create_index('vpmem_namespaces_migration_uuid_idx',
                    'vpmem_namespaces', ['migration_uuid'])

    # 3 x 255 characters of utf8mb4 is 3060 bytes, under MySQL's 3072.
    op.drop_index('migrations_source_compute_node_idx',
                  table_name='migrations')
    op.drop_index('migrations_dest_compute_node_idx',
                  table_name='migrations')
    op.create_index('migrations_source_compute_node_status_idx',
                    'migrations',
                    ['source_compute', 'source_node', 'status'])
    op.create_index('migrations_dest_compute_node_status_idx',
                    'migrations', ['dest_compute', 'dest_node', 'status'])

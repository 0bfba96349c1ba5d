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

"""Pending placement work; instance actions and their events.

``pending_placement_work`` keeps the placement writes a compute could
not make while placement was away (so a periodic task finishes them);
``instance_actions`` and ``instance_actions_events`` record what was done
to an instance and how each step ended, as Nova's os-instance-actions
API shows them.

Revision ID: 5b2e8d4a1c70
Revises: 3c1f7a9d2b64
Create Date: 2026-12-05 00:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '5b2e8d4a1c70'
down_revision = '3c1f7a9d2b64'
branch_labels = None
depends_on = None

_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _id():
    return sa.Column('id', sa.Integer, primary_key=True, autoincrement=True)


def _timestamps():
    return [sa.Column('created_at', sa.DateTime),
            sa.Column('updated_at', sa.DateTime)]


def _soft_delete():
    return _timestamps() + [
        sa.Column('deleted_at', sa.DateTime),
        sa.Column('deleted', sa.Integer, nullable=False),
    ]


def upgrade():
    op.create_table(
        'pending_placement_work',
        _id(),
        *_timestamps(),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('consumer_uuid', sa.String(36), nullable=False),
        sa.Column('migration_uuid', sa.String(36)),
        sa.Column('attempts', sa.Integer, nullable=False),
        sa.Column('last_error', sa.Text),
        sa.Column('next_attempt_at', sa.DateTime),
        sa.UniqueConstraint(
            'host', 'kind', 'consumer_uuid',
            name='uniq_pending_placement_work0host0kind0consumer_uuid'),
        sa.CheckConstraint(
            "kind IN ('delete_allocations', 'revert_move')",
            name='ck_pending_placement_work_kind'),
        **_TABLE_ARGS)

    op.create_table(
        'instance_actions',
        _id(),
        *_soft_delete(),
        sa.Column('action', sa.String(255)),
        sa.Column('instance_uuid', sa.String(36), nullable=False),
        sa.Column('request_id', sa.String(255)),
        sa.Column('user_id', sa.String(255)),
        sa.Column('project_id', sa.String(255)),
        sa.Column('start_time', sa.DateTime),
        sa.Column('finish_time', sa.DateTime),
        sa.Column('message', sa.String(255)),
        **_TABLE_ARGS)
    op.create_index('instance_actions_instance_uuid_idx',
                    'instance_actions', ['instance_uuid'])
    op.create_index('instance_actions_request_id_idx', 'instance_actions',
                    ['request_id'])

    op.create_table(
        'instance_actions_events',
        _id(),
        *_soft_delete(),
        sa.Column('event', sa.String(255)),
        sa.Column('action_id', sa.Integer,
                  sa.ForeignKey('instance_actions.id',
                                name='instance_actions_events_action_id_fkey'),
                  nullable=False),
        sa.Column('start_time', sa.DateTime),
        sa.Column('finish_time', sa.DateTime),
        sa.Column('result', sa.String(255)),
        sa.Column('traceback', sa.Text),
        sa.Column('host', sa.String(255)),
        sa.Column('details', sa.Text),
        **_TABLE_ARGS)
    op.create_index('instance_actions_events_action_id_idx',
                    'instance_actions_events', ['action_id'])

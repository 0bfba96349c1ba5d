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

"""Key pairs: the ``key_pairs`` table of os-keypairs, and the key pair a
server was booted with (``instances.key_name``).

Revision ID: e2b7d94c5a18
Revises: c7e1f4a9b2d6
Create Date: 2026-12-06 13:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = 'e2b7d94c5a18'
down_revision = 'c7e1f4a9b2d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'key_pairs',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('user_id', sa.String(255), nullable=False),
        sa.Column('fingerprint', sa.String(255)),
        sa.Column('public_key', sa.Text),
        sa.Column('type', sa.String(8), nullable=False,
                  server_default='ssh'),
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.Column('deleted_at', sa.DateTime),
        sa.Column('deleted', sa.Integer, nullable=False),
        # deleted = id once deleted: a new key may take a deleted one's name.
        sa.UniqueConstraint('user_id', 'name', 'deleted',
                            name='uniq_key_pairs0user_id0name0deleted'),
        sa.CheckConstraint("type IN ('ssh', 'x509')",
                           name='ck_key_pairs_type'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('key_name', sa.String(255)))

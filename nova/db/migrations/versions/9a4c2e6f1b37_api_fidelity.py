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

"""What the compute API shows of servers and hypervisors.

A server's description (2.19) and lock (``locked``, who locked it:
``owner`` or ``admin``, and the reason, 2.73); a compute node's host IP
address (``host_ip`` of the hypervisor views).

Revision ID: 9a4c2e6f1b37
Revises: 5b2e8d4a1c70
Create Date: 2026-12-06 00:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '9a4c2e6f1b37'
down_revision = '5b2e8d4a1c70'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('display_description', sa.Text))
        batch.add_column(sa.Column('locked', sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('locked_by', sa.String(255)))
        batch.add_column(sa.Column('locked_reason', sa.String(255)))
    with op.batch_alter_table('compute_nodes') as batch:
        batch.add_column(sa.Column('host_ip', sa.String(39)))

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

"""Flavor access: the projects that may use a private flavor.

The ``flavor_projects`` table behind ``/flavors/{flavor_id}/os-flavor-access``
and the ``addTenantAccess``/``removeTenantAccess`` flavor actions.

Revision ID: c7e1f4a9b2d6
Revises: 9a4c2e6f1b37
Create Date: 2026-12-06 01:20:00
"""

from alembic import op
import sqlalchemy as sa

revision = 'c7e1f4a9b2d6'
down_revision = '9a4c2e6f1b37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'flavor_projects',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('flavor_id', sa.Integer,
                  sa.ForeignKey('flavors.id', ondelete='CASCADE',
                                name='flavor_projects_flavor_id_fkey'),
                  nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.UniqueConstraint('flavor_id', 'project_id',
                            name='uniq_flavor_projects0flavor_id0project_id'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')

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

"""The request context: who asks, in which request, with which rights."""

from oslo_context import context as oslo_context


class RequestContext(oslo_context.RequestContext):
    """Security context and request information of one operation.

    It travels with every RPC message, so a compute service acts with the
    rights and request id of the API call that started the work.
    """

    def __init__(self, user_id=None, project_id=None, is_admin=None,
                 read_deleted='no', roles=None, **kwargs):
        kwargs.setdefault('user_id', user_id)
        kwargs.setdefault('project_id', project_id)
        super().__init__(is_admin=bool(is_admin), roles=roles or [],
                         **kwargs)
        self.read_deleted = read_deleted
        if is_admin is None:
            # The policy file names the administrator role, not the code.
            # Imported here: the policy module needs the configuration,
            # which must not be loaded by importing the context.
            from nova.api import policy
            self.is_admin = policy.check_is_admin(self)

    def to_dict(self):
        values = super().to_dict()
        values['read_deleted'] = self.read_deleted
        values['user_id'] = self.user_id
        values['project_id'] = self.project_id
        return values

    @classmethod
    def from_dict(cls, values):
        return super().from_dict(
            values,
            user_id=values.get('user_id', values.get('user')),
            project_id=values.get('project_id', values.get('project_id')),
            is_admin=values.get('is_admin'),
            read_deleted=values.get('read_deleted', 'no'),
            roles=values.get('roles'),
        )

    def elevated(self):
        """Return an admin copy of this context (same request id).

        For the services' own work on a request's behalf (reading deleted
        records, say); ``is_admin`` is set, whatever ``context_is_admin``
        would say of the roles, and that is what ``admin_api`` checks.
        """
        ctx = self.from_dict(self.to_dict())
        ctx.is_admin = True
        if 'admin' not in ctx.roles:
            ctx.roles = list(ctx.roles) + ['admin']
        return ctx


def get_admin_context(read_deleted='no'):
    """A context for work the services do on their own behalf."""
    return RequestContext(user_id=None, project_id=None, is_admin=True,
                          read_deleted=read_deleted, overwrite=False)


def get_context():
    """A context with no user or project, for tools like nova-manage."""
    return RequestContext(user_id=None, project_id=None, is_admin=False,
                          overwrite=False)


def require_admin_context(ctxt):
    from nova import exception
    if not ctxt.is_admin:
        raise exception.Forbidden()

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

"""A real Keystone (from PyPI) in front of the multinode deployment.

Keystone keeps its own SQLite database, fernet and credential keys
under ``DIR/keystone``; ``keystone-manage`` bootstraps it (the admin
user and project, the roles, the identity endpoints in RegionOne) and
gunicorn serves it with one worker (SQLite locks under two). Then
:func:`register` creates, over Keystone's REST API with keystoneauth
(one process, no CLI start-up per call):

* the ``service`` project with the users ``nova`` and ``placement``
  (roles admin and service) that the services authenticate as;
* the services and endpoints of compute, placement and the images;
* the personas of the policy checks: ``nmn-member`` (member) and
  ``nmn-reader`` (reader) in the project ``nmn-demo``, and ``nmn-other``
  (member) in the project ``nmn-other``.

The images: nova-api's ``/images`` answers Glance v2's calls for image
clients (:mod:`nova.api.handlers.images`), so the catalog's image
service points at the compute endpoint itself: the CLI finds the image
of ``server create --image`` there instead of failing with "public
endpoint for image service ... not found".

The helpers that render configuration are pure (unit-tested); the rest
runs processes and is driven by :mod:`~nova.tests.multinode.deployment`.
"""

import os
import subprocess

PORT = 5000
REGION = 'RegionOne'
DOMAIN = 'Default'
ADMIN = 'admin'
SERVICE_PROJECT = 'service'
SERVICE_USERS = ('nova', 'placement')
SERVICE_ROLES = ('admin', 'service')
PERSONA_PROJECT = 'nmn-demo'
OTHER_PROJECT = 'nmn-other'
# user -> (its project, its one role there); Keystone's implied roles add
# reader to member. nmn-other is the member of another project.
PERSONAS = {'nmn-member': (PERSONA_PROJECT, 'member'),
            'nmn-reader': (PERSONA_PROJECT, 'reader'),
            'nmn-other': (OTHER_PROJECT, 'member')}
INTERFACES = ('public', 'internal', 'admin')
# The module gunicorn loads: keystone's app reads sys.argv through
# oslo.config, which refuses gunicorn's own arguments.
SHIM_MODULE = 'nmn_keystone_wsgi'
SHIM = ('import sys\n'
        '# oslo.config parses sys.argv: hide gunicorn\'s arguments.\n'
        'sys.argv = sys.argv[:1]\n'
        'from keystone.wsgi.api import application  # noqa\n')


class KeystoneError(RuntimeError):
    pass


def url(address, port=PORT):
    return 'http://%s:%d/v3' % (address, port)


def catalog(compute, placement):
    """``{service type: (name, url)}`` of what the deployment serves.

    The image service is nova-api: its /images speaks Glance v2 to image
    clients.
    """
    return {'compute': ('nova', compute),
            'placement': ('placement', placement),
            'image': ('nova-images', compute)}


# -- configuration ------------------------------------------------------------

def keystone_sections(root, log_file):
    """keystone.conf: SQLite, fernet tokens, keys under ``root``."""
    return {
        'DEFAULT': {'log_file': log_file},
        'database': {'connection': 'sqlite:///%s' % os.path.join(
            root, 'keystone.db')},
        'token': {'provider': 'fernet'},
        'fernet_tokens': {'key_repository': os.path.join(root,
                                                         'fernet-keys')},
        'credential': {'key_repository': os.path.join(root,
                                                      'credential-keys')},
    }


def password_auth(auth_url, username, password, project=SERVICE_PROJECT):
    """keystoneauth's password plugin options, as a config section."""
    return {'auth_type': 'password', 'auth_url': auth_url,
            'username': username, 'password': password,
            'project_name': project, 'user_domain_name': DOMAIN,
            'project_domain_name': DOMAIN}


def authtoken_section(auth_url, username, password):
    """``[keystone_authtoken]`` of a service behind auth_token: it checks
    tokens as ``username`` of the service project."""
    return dict(password_auth(auth_url, username, password),
                www_authenticate_uri=auth_url, region_name=REGION)


def placement_client_section(auth_url, password):
    """``[placement]`` of the nova services: the catalog's placement,
    as user nova."""
    return dict(password_auth(auth_url, 'nova', password),
                region_name=REGION, valid_interfaces='internal,public',
                endpoint=None, token=None)


def cli_env(auth_url, password, user=ADMIN, project=ADMIN):
    """The ``openstack`` CLI's OS_* settings for ``user`` in
    ``project``."""
    return {'OS_AUTH_TYPE': 'password', 'OS_AUTH_URL': auth_url,
            'OS_USERNAME': user, 'OS_PASSWORD': password,
            'OS_PROJECT_NAME': project, 'OS_USER_DOMAIN_NAME': DOMAIN,
            'OS_PROJECT_DOMAIN_NAME': DOMAIN, 'OS_REGION_NAME': REGION,
            'OS_INTERFACE': 'public', 'OS_IDENTITY_API_VERSION': '3',
            'OS_COMPUTE_API_VERSION': '2.latest'}


# -- the server ---------------------------------------------------------------

class Keystone:
    """Keystone under ``root`` (a deployment's ``DIR/keystone``)."""

    def __init__(self, root, bin_dir, addresses, password, log_dir,
                 port=PORT):
        self.root = root
        self.bin_dir = bin_dir
        self.addresses = tuple(addresses)
        self.password = password
        self.log_dir = log_dir
        self.port = port

    @property
    def auth_url(self):
        # The last address is the bridge's: computes reach it too.
        return url(self.addresses[-1], self.port)

    @property
    def config_dir(self):
        return os.path.join(self.root, 'etc')

    @property
    def config_file(self):
        return os.path.join(self.config_dir, 'keystone.conf')

    def write_config(self, write_ini):
        os.makedirs(self.config_dir, exist_ok=True)
        write_ini(self.config_file, keystone_sections(
            self.root, os.path.join(self.log_dir, 'keystone.log')))
        with open(os.path.join(self.root, SHIM_MODULE + '.py'), 'w') as f:
            f.write(SHIM)

    def manage_commands(self):
        """keystone-manage's argv lists, in order."""
        manage = [os.path.join(self.bin_dir, 'keystone-manage'),
                  '--config-file', self.config_file]
        owner = ['--keystone-user', 'root', '--keystone-group', 'root']
        boot = manage + ['bootstrap', '--bootstrap-password', self.password,
                         '--bootstrap-region-id', REGION]
        for interface in INTERFACES:
            boot += ['--bootstrap-%s-url' % interface, self.auth_url + '/']
        return [manage + ['db_sync'],
                manage + ['fernet_setup'] + owner,
                manage + ['credential_setup'] + owner,
                boot]

    def bootstrap(self, env):
        log = os.path.join(self.log_dir, 'keystone-manage.log')
        for argv in self.manage_commands():
            with open(log, 'ab') as out:
                result = subprocess.run(argv, stdout=out,
                                        stderr=subprocess.STDOUT, env=env,
                                        stdin=subprocess.DEVNULL)
            if result.returncode:
                from nova.tests.multinode import services
                raise KeystoneError('keystone-manage %s exited %d:\n%s' % (
                    argv[3], result.returncode, services.tail(log)))

    def spec(self):
        """(argv, extra environment) of gunicorn serving Keystone."""
        # One worker, one thread: Keystone's SQLite answered "database is
        # locked" (500) to a token request when several ran at once.
        argv = [os.path.join(self.bin_dir, 'gunicorn'), '--workers', '1',
                '--threads', '1', '--timeout', '120',
                '--graceful-timeout', '5', '--pythonpath', self.root,
                '--error-logfile', os.path.join(self.log_dir,
                                                'keystone-gunicorn.log')]
        for address in self.addresses:
            argv += ['--bind', '%s:%d' % (address, self.port)]
        return (argv + ['%s:application' % SHIM_MODULE],
                {'OS_KEYSTONE_CONFIG_DIR': self.config_dir})

    def session(self, user=ADMIN, project=ADMIN, password=None):
        from keystoneauth1.identity import v3
        from keystoneauth1 import session
        auth = v3.Password(auth_url=self.auth_url, username=user,
                           password=password or self.password,
                           project_name=project, user_domain_name=DOMAIN,
                           project_domain_name=DOMAIN)
        return session.Session(auth=auth, timeout=30)

    def ready(self):
        """Keystone answers its version document."""
        import urllib.request
        try:
            with urllib.request.urlopen(self.auth_url, timeout=5) as resp:
                return resp.status == 200
        except OSError:
            return False


# -- the catalog, users and personas ------------------------------------------

class _Identity:
    """Find-or-create over Keystone's v3 API, as the admin."""

    def __init__(self, session, auth_url):
        self.session = session
        self.base = auth_url

    def _call(self, method, path, **kwargs):
        resp = self.session.request(self.base + path, method,
                                    raise_exc=False, **kwargs)
        if resp.status_code >= 400:
            raise KeystoneError('%s %s: %d %s' % (method, path,
                                                  resp.status_code,
                                                  resp.text[:300]))
        return resp.json() if resp.content else None

    def ensure(self, collection, body, **query):
        """The id of the one ``collection`` entry matching ``query``,
        created from ``body`` when there is none."""
        found = self._call('GET', '/%s' % collection, params=query)
        if found[collection]:
            return found[collection][0]['id']
        single = collection[:-1]
        return self._call('POST', '/%s' % collection,
                          json={single: body})[single]['id']

    def domain_id(self):
        return self.ensure('domains', {'name': DOMAIN}, name=DOMAIN)

    def project(self, name):
        domain = self.domain_id()
        return self.ensure('projects', {'name': name, 'domain_id': domain},
                           name=name, domain_id=domain)

    def user(self, name, password, project_id=None):
        domain = self.domain_id()
        body = {'name': name, 'password': password, 'domain_id': domain}
        if project_id:
            body['default_project_id'] = project_id
        return self.ensure('users', body, name=name, domain_id=domain)

    def role(self, name):
        return self.ensure('roles', {'name': name}, name=name)

    def grant(self, project_id, user_id, role_name):
        self._call('PUT', '/projects/%s/users/%s/roles/%s' % (
            project_id, user_id, self.role(role_name)))

    def endpoints(self, service_type, name, endpoint_url):
        service = self.ensure('services', {'type': service_type,
                                           'name': name, 'enabled': True},
                              type=service_type)
        for interface in INTERFACES:
            self.ensure('endpoints', {
                'service_id': service, 'interface': interface,
                'region_id': REGION, 'url': endpoint_url, 'enabled': True},
                service_id=service, interface=interface, region_id=REGION)
        return service


def register(keystone, services):
    """Users, roles, services, endpoints and personas (idempotent).

    ``services``: :func:`catalog`. Returns what was made, for a step
    line.
    """
    identity = _Identity(keystone.session(), keystone.auth_url)
    service_project = identity.project(SERVICE_PROJECT)
    for name in SERVICE_USERS:
        user = identity.user(name, keystone.password, service_project)
        for role in SERVICE_ROLES:
            identity.grant(service_project, user, role)
    for service_type, (name, endpoint_url) in sorted(services.items()):
        identity.endpoints(service_type, name, endpoint_url)
    projects = {}
    for name, (project, role) in sorted(PERSONAS.items()):
        if project not in projects:
            projects[project] = identity.project(project)
        identity.grant(projects[project], identity.user(
            name, keystone.password, projects[project]), role)
    return 'project %s: %s; catalog: %s; personas: %s' % (
        SERVICE_PROJECT, ', '.join(SERVICE_USERS), ', '.join(
            sorted(services)), ', '.join(
                '%s (%s in %s)' % (name, role, project)
                for name, (project, role) in sorted(PERSONAS.items())))

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

"""The tempest tier: tempest from PyPI against the multinode deployment.

As a 3rd-party CI would: the deployment comes up behind a real Keystone
(:mod:`~nova.tests.multinode.keystone`), a tempest workspace gets a
``tempest.conf`` for it, and ``tempest run`` runs, with dynamic
credentials, this project's plugin (``nova_vpmem_tempest_plugin``) and the
upstream compute tests listed in :data:`UPSTREAM_TESTS`, in two phases:

1. everything but the abort test, with the computes as shipped;
2. the abort test, after the computes are restarted with the migration
   bandwidth at 1 MiB/s, so a migration of the paced guest runs long
   enough to be caught and aborted.

Every listed test must pass: a skip counts as a failure here, so a test
that quietly stopped applying is noticed. The upstream tests that do not
apply are named, with the reason, in
``doc/source/contributor/tempest-plugin.rst``.

The functions that render configuration and read results are pure
(unit-tested); :func:`run` drives processes.
"""

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

from nova.tests.multinode import deployment as nmn
from nova.tests.multinode import keystone as ks
from nova.tests.multinode import services

PLUGIN_REGEX = r'^nova_vpmem_tempest_plugin\.'
ABORT_TEST = ('nova_vpmem_tempest_plugin.api.test_migration_abort.'
              'VpmemMigrationAbortTest')
# The upstream tempest 47 tests run here: what needs no image, network or
# volume service and calls only what this API serves. Whole classes, less
# the tests of EXCLUDED; a name ending in "[" is one test.
NO_NETWORK = 'nova_vpmem_tempest_plugin.api.test_upstream_no_network.'
UPSTREAM_TESTS = (
    'tempest.api.compute.test_versions.TestVersions',
    'tempest.api.compute.admin.test_hypervisor.HypervisorAdminTestJSON',
    'tempest.api.compute.admin.test_hypervisor_negative.'
    'HypervisorAdminNegativeTestJSON',
    'tempest.api.compute.admin.test_services.ServicesAdminTestJSON',
    'tempest.api.compute.admin.test_services_negative.'
    'ServicesAdminNegativeTestJSON',
    'tempest.api.compute.admin.test_migrations.MigrationsAdminTest',
    'tempest.api.compute.admin.test_live_migration_negative.'
    'LiveMigrationNegativeTest',
    'tempest.api.compute.admin.test_flavors.FlavorsAdminTestJSON',
    'tempest.api.compute.admin.test_flavors_access.FlavorsAccessTestJSON',
    'tempest.api.compute.admin.test_flavors_access_negative.'
    'FlavorsAccessNegativeTestJSON',
    'tempest.api.compute.admin.test_flavors_extra_specs.',
    'tempest.api.compute.admin.test_flavors_extra_specs_negative.'
    'FlavorsExtraSpecsNegativeTestJSON',
    'tempest.api.compute.admin.test_flavors_microversions.',
    'tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON',
    'tempest.api.compute.admin.test_servers_negative.'
    'ServersAdminNegativeTestJSON',
    'tempest.api.compute.admin.test_delete_server.DeleteServersAdminTestJSON',
    'tempest.api.compute.servers.test_create_server.ServersTestJSON',
    'tempest.api.compute.servers.test_create_server.ServersTestManualDisk',
    'tempest.api.compute.servers.test_list_server_filters.'
    'ListServerFiltersTestJSON',
    'tempest.api.compute.servers.test_multiple_create_negative.'
    'MultipleCreateNegativeTestJSON',
    'tempest.api.compute.servers.test_servers.ServerShowV247Test',
    'tempest.api.compute.keypairs.',
    'tempest.api.compute.admin.test_keypairs_v210.KeyPairsV210TestJSON',
    # tempest's tests with only create_default_network changed.
    NO_NETWORK + 'LiveMigrationNoNetworkTest.test_live_block_migration[',
    NO_NETWORK + 'LiveMigrationNoNetworkTest.'
    'test_live_block_migration_paused[',
    NO_NETWORK + 'LiveAutoBlockMigrationNoNetworkTest.'
    'test_live_block_migration[',
    NO_NETWORK + 'ListServersNegativeNoNetworkTest',
    NO_NETWORK + 'ServersAdminNoNetworkTest',
    NO_NETWORK + 'DeleteServersNoNetworkTest',
    NO_NETWORK + 'InstanceActionsNoNetworkTest',
    NO_NETWORK + 'InstanceActionsV221NoNetworkTest',
    NO_NETWORK + 'InstanceActionsNegativeNoNetworkTest',
    NO_NETWORK + 'MultipleCreateNoNetworkTest',
    NO_NETWORK + 'ServersNoNetworkTest',
)
RESIZE = 'needs resize (not served: a vpmem flavor change is not supported)'
SUSPEND = 'needs suspend (not served)'
RESET_STATE = 'needs os-resetState (not served)'
ACCESS_IPS = 'checks accessIPv4/accessIPv6 (not served: no networking here)'
# Tests of the classes above that do not apply here, with the reason.
EXCLUDED = {
    'tempest.api.compute.servers.test_list_server_filters.'
    'ListServerFiltersTestJSON.test_list_servers_filtered_by_ip':
        'filters by the address of a server on [compute] '
        'fixed_network_name: needs a network service',
    'tempest.api.compute.admin.test_migrations.MigrationsAdminTest.'
    'test_list_migrations_in_flavor_resize_situation': RESIZE,
    'tempest.api.compute.admin.test_migrations.MigrationsAdminTest.'
    'test_resize_server_revert_deleted_flavor': RESIZE,
    'tempest.api.compute.admin.test_live_migration_negative.'
    'LiveMigrationNegativeTest.test_live_block_migration_suspended':
        SUSPEND,
    'tempest.api.compute.admin.test_servers_negative.'
    'ServersAdminNegativeTestJSON.test_migrate_server_invalid_state':
        SUSPEND,
    'tempest.api.compute.admin.test_servers_negative.'
    'ServersAdminNegativeTestJSON.test_resize_server_using_overlimit':
        RESIZE,
    'tempest.api.compute.admin.test_servers_negative.'
    'ServersAdminNegativeTestJSON.test_restore_server_invalid_state':
        'needs soft delete and restore (not served)',
    'tempest.api.compute.admin.test_delete_server.DeleteServersAdminTestJSON.'
    'test_delete_server_while_in_error_state': RESET_STATE,
    'tempest.api.compute.servers.test_create_server.ServersTestJSON.'
    'test_verify_server_details':
        ACCESS_IPS,
    'tempest.api.compute.servers.test_create_server.ServersTestManualDisk.'
    'test_verify_server_details': ACCESS_IPS,
    'tempest.api.compute.servers.test_create_server.ServersTest'
    'JSON.test_host_name_is_same_as_server_name':
        'logs into the guest ([validation] run_validation): the test '
        'guest has no SSH',
    'tempest.api.compute.servers.test_create_server.ServersTest'
    'JSON.test_verify_created_server_vcpus':
        'logs into the guest ([validation] run_validation): the test '
        'guest has no SSH',
    'tempest.api.compute.servers.test_create_server.ServersTest'
    'ManualDisk.test_host_name_is_same_as_server_name':
        'logs into the guest ([validation] run_validation): the test '
        'guest has no SSH',
    'tempest.api.compute.servers.test_create_server.ServersTest'
    'ManualDisk.test_verify_created_server_vcpus':
        'logs into the guest ([validation] run_validation): the test '
        'guest has no SSH',
    'tempest.api.compute.servers.test_servers.ServerShowV247Test.'
    'test_update_rebuild_list_server': 'needs rebuild (not served)',
    NO_NETWORK + 'DeleteServersNoNetworkTest.'
    'test_delete_server_while_in_attached_volume':
        'needs a volume service',
    NO_NETWORK + 'DeleteServersNoNetworkTest.'
    'test_delete_server_while_in_shelved_state': 'needs shelve (not served)',
    NO_NETWORK + 'DeleteServersNoNetworkTest.'
    'test_delete_server_while_in_suspended_state': SUSPEND,
    NO_NETWORK + 'DeleteServersNoNetworkTest.'
    'test_delete_server_while_in_verify_resize_state': RESIZE,
    NO_NETWORK + 'MultipleCreateNoNetworkTest.'
    'test_multiple_create_with_reservation_return':
        'needs return_reservation_id (not served)',
    NO_NETWORK + 'ServersAdminNoNetworkTest.'
    'test_create_server_with_scheduling_hint':
        'needs the same_host scheduler hint (not served)',
    NO_NETWORK + 'ServersAdminNoNetworkTest.test_inject_network_info':
        'needs injectNetworkInfo (not served: no networking here)',
    NO_NETWORK + 'ServersAdminNoNetworkTest.'
    'test_list_servers_filter_by_error_status': RESET_STATE,
    NO_NETWORK + 'ServersAdminNoNetworkTest.'
    'test_rebuild_server_in_error_state': RESET_STATE + ' and rebuild',
    NO_NETWORK + 'ServersAdminNoNetworkTest.test_reset_state_server':
        RESET_STATE,
    NO_NETWORK + 'ServersNoNetworkTest.test_create_server_with_ipv6_addr_only':
        ACCESS_IPS,
    NO_NETWORK + 'ServersNoNetworkTest.test_update_access_server_address':
        ACCESS_IPS,
}
# Flavors tempest's own tests boot with ([compute] flavor_ref and
# flavor_ref_alt): no namespaces, so they never compete with the plugin's.
FLAVORS = (('tempest-1', 32), ('tempest-2', 64))
BANDWIDTH_MIB_S = 1
DOWNTIME_MS = 100


def tempest_conf(deployment_info, flavors, abortable=False):
    """``{section: {option: value}}`` of tempest.conf for a deployment.

    ``deployment_info``: auth_url, password, placement, log_file;
    ``flavors``: the ids of flavor_ref and flavor_ref_alt.
    """
    return {
        'DEFAULT': {'log_file': deployment_info['log_file'],
                    'use_stderr': 'False'},
        'auth': {'admin_username': ks.ADMIN,
                 'admin_password': deployment_info['password'],
                 'admin_project_name': ks.ADMIN,
                 'admin_domain_name': ks.DOMAIN,
                 'use_dynamic_credentials': 'True',
                 'create_isolated_networks': 'False'},
        'identity': {'uri_v3': deployment_info['auth_url'],
                     'auth_version': 'v3', 'region': ks.REGION},
        'identity-feature-enabled': {'api_v2': 'False'},
        # tempest 47's compute admin base builds an image client even when
        # no test needs one: glance=True only lets it exist.
        'service_available': {'nova': 'True', 'glance': 'True',
                              'neutron': 'False', 'cinder': 'False',
                              'swift': 'False', 'placement': 'True'},
        'compute': {'min_microversion': '2.1', 'max_microversion': '2.96',
                    'image_ref': nmn.IMAGE_ID,
                    'image_ref_alt': nmn.PACED_IMAGE_ID,
                    'flavor_ref': flavors[0], 'flavor_ref_alt': flavors[1],
                    'min_compute_nodes': str(nmn.COMPUTES),
                    'build_timeout': '120', 'build_interval': '1'},
        'compute-feature-enabled': {
            'live_migration': 'True',
            'block_migration_for_live_migration': 'True',
            'cold_migration': 'True', 'resize': 'False',
            'pause': 'True', 'suspend': 'False', 'shelve': 'False',
            'rescue': 'False', 'snapshot': 'False',
            'change_password': 'False', 'console_output': 'False',
            'interface_attach': 'False', 'vnc_console': 'False',
            'personality': 'False', 'config_drive': 'False',
            'metadata_service': 'False', 'attach_encrypted_volume': 'False',
            'can_migrate_between_any_hosts': 'True'},
        'validation': {'run_validation': 'False'},
        'vpmem': {'flavor_labels': ','.join([nmn.LABEL] * len(
                      nmn.NAMESPACES)),
                  'flavor_ram_mb': str(nmn.FLAVOR_RAM_MB),
                  'namespace_size_mb': str(nmn.NAMESPACE_MIB),
                  'placement_endpoint': deployment_info['placement'],
                  'abortable_migration': str(bool(abortable)),
                  # The stamp guest dirties faster than BANDWIDTH_MIB_S, so
                  # its copy never ends on its own; the paced one's does.
                  'abort_image_ref': nmn.IMAGE_ID},
    }


def include_list(abort_phase):
    """The regexes of ``tempest run --include-list`` for a phase."""
    if abort_phase:
        return [r'^' + re.escape(ABORT_TEST)]
    return [PLUGIN_REGEX + r'api\.test_(?!migration_abort\.|upstream_)'] + [
        r'^' + re.escape(name) for name in UPSTREAM_TESTS]


def exclude_list():
    """The regexes of ``tempest run --exclude-list``."""
    return [r'^' + re.escape(name) for name in EXCLUDED]


def tally(result_lines):
    """``{'pass': [...], 'fail': [...], 'skip': [...]}`` of test ids from
    ``<status> <test id>`` lines (:func:`_results`). A class whose
    setUpClass failed or skipped reports as ``setUpClass (<class>)``."""
    kinds = {'success': 'pass', 'xfail': 'pass', 'fail': 'fail',
             'uxsuccess': 'fail', 'skip': 'skip'}
    found = {'pass': [], 'fail': [], 'skip': []}
    for line in result_lines:
        status, _, test_id = line.strip().partition(' ')
        if test_id and status in kinds:
            found[kinds[status]].append(test_id)
    return found


# -- running it ---------------------------------------------------------------

def _flavors(deployment):
    """Create tempest's two flavors (idempotent); their ids."""
    sess = deployment.keystone.session()
    endpoint = deployment.api_endpoint
    ids = []
    for name, ram in FLAVORS:
        resp = sess.get(endpoint + '/flavors/' + name, raise_exc=False)
        if resp.status_code == 404:
            sess.post(endpoint + '/flavors', json={'flavor': {
                'name': name, 'id': name, 'ram': ram, 'vcpus': 1,
                'disk': 0}})
        ids.append(name)
    return ids


def _tempest(workspace, args, log):
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH']))
    for key in [k for k in env if k.startswith('OS_')]:
        del env[key]
    return subprocess.run([os.path.join(bin_dir, 'tempest')] + args,
                          cwd=workspace, env=env, stdout=log,
                          stderr=subprocess.STDOUT, check=False).returncode


def _results(workspace):
    """``<status> <test id>`` lines of the workspace's last stestr run."""
    out = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'stestr'), 'last',
         '--subunit'], cwd=workspace, capture_output=True,
        check=False).stdout
    return statuses(out)


def statuses(subunit_bytes):
    """``<status> <test id>`` of each test that ended in a subunit v2
    stream."""
    import subunit
    import testtools

    lines = []

    class Statuses(testtools.StreamResult):
        def status(self, test_id=None, test_status=None, **kwargs):
            if test_id and test_status in (
                    'success', 'fail', 'skip', 'xfail', 'uxsuccess'):
                lines.append('%s %s' % (test_status, test_id))

    subunit.ByteStreamToStreamResult(
        io.BytesIO(subunit_bytes), non_subunit_name='stdout').run(
            Statuses())
    return lines


def _phase(workspace, info, flavors, abort_phase, say):
    conf = services.write_ini(os.path.join(workspace, 'etc', 'tempest.conf'),
                              tempest_conf(info, flavors,
                                           abortable=abort_phase))
    listing = os.path.join(workspace, 'include-%s.txt' % (
        'abort' if abort_phase else 'main'))
    with open(listing, 'w') as f:
        f.write('\n'.join(include_list(abort_phase)) + '\n')
    excluded = os.path.join(workspace, 'exclude.txt')
    with open(excluded, 'w') as f:
        f.write('\n'.join(exclude_list()) + '\n')
    began = time.monotonic()
    with open(os.path.join(workspace, 'tempest-run.log'), 'a') as log:
        _tempest(workspace, ['run', '--config-file', conf,
                             '--include-list', listing,
                             '--exclude-list', excluded,
                             '--concurrency', '1'], log)
    found = tally(_results(workspace))
    say('phase %s: %d passed, %d failed, %d skipped in %.0f s' % (
        'abort' if abort_phase else 'main', len(found['pass']),
        len(found['fail']), len(found['skip']), time.monotonic() - began))
    for status in ('fail', 'skip'):
        for test_id in found[status]:
            say('  %s %s' % (status.upper(), test_id))
    return found


def run(base_dir, db='mariadb', keep=False, out=sys.stdout):
    """Up, both phases, down; 0 when every listed test passed."""
    def say(line):
        print('tempest: ' + line, file=out, flush=True)

    deployment = nmn.Deployment(os.path.join(base_dir, 'deployment'),
                                db=db, auth='keystone', out=out,
                                compute_options=nmn.STAMP_GUEST_OPTIONS)
    workspace = os.path.join(os.path.abspath(base_dir), 'workspace')
    subprocess.run(['rm', '-rf', '--one-file-system', workspace],
                   check=True)
    os.makedirs(os.path.join(workspace, 'etc'))
    results = {}
    deployment.up()
    try:
        info = {'auth_url': deployment.keystone.auth_url,
                'password': deployment.settings['password'],
                'placement': deployment.placement_endpoint,
                'log_file': os.path.join(workspace, 'tempest.log')}
        flavors = _flavors(deployment)
        results['main'] = _phase(workspace, info, flavors,
                                 False, say)
        say('restarting the computes at %d MiB/s for the abort test' %
            BANDWIDTH_MIB_S)
        deployment.set_compute_options({
            ('libvirt', 'live_migration_bandwidth'): BANDWIDTH_MIB_S,
            ('libvirt', 'live_migration_downtime'): DOWNTIME_MS})
        results['abort'] = _phase(workspace, info, flavors,
                                  True, say)
    finally:
        if not keep:
            deployment.down()
    with open(os.path.join(base_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1, sort_keys=True)
    bad = [t for phase in results.values() for t in phase['fail'] +
           phase['skip']]
    missing = [name for name in UPSTREAM_TESTS + (ABORT_TEST,) if not any(
        t.startswith(name) for phase in results.values()
        for t in phase['pass'])]
    if missing:
        say('no passing test of: %s' % ', '.join(missing))
    say('%s; results in %s, tempest log in %s' % (
        'FAILED' if bad or missing else 'all passed',
        os.path.join(base_dir, 'results.json'),
        os.path.join(workspace, 'tempest.log')))
    return 1 if bad or missing else 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova.tests.multinode.tempest_run',
        description=__doc__.split('\n\n')[0])
    parser.add_argument('--base-dir', required=True)
    parser.add_argument('--db', choices=nmn.DATABASES, default='mariadb')
    parser.add_argument('--keep', action='store_true',
                        help='leave the deployment up at the end')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error('run as root: namespaces, and daemons as their users')
    signal.signal(signal.SIGTERM, nmn._interrupt)
    os.makedirs(args.base_dir, exist_ok=True)
    return run(args.base_dir, db=args.db, keep=args.keep)


if __name__ == '__main__':
    sys.exit(main())

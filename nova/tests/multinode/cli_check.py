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

"""The multinode deployment driven through the real ``openstack`` CLI.

``python -m nova.tests.multinode.deployment check --base-dir DIR`` runs
:func:`check`: up; the CLI creates a vpmem flavor, boots the stamp guest
on compute-1, live-migrates it to compute-2 and back (each hop's bytes
counted on the source's veth, the guest's pages verified where it
lands), lists the migrations and deletes the server; ``nova-manage vpmem
audit`` must be clean; down. One line per step with its time.
"""

import json
import subprocess
import time

from nova.tests.multinode import deployment as nmn
from nova.tests.multinode import keystone as ks
from nova.tests.multinode import network

compute_name = nmn.compute_name
PMEM = '%s,%s' % (nmn.LABEL, nmn.LABEL)


class Cli:
    """The real ``openstack`` command, with the deployment's settings."""

    def __init__(self, deployment, user=ks.ADMIN):
        self.deployment = deployment
        self.user = user  # with Keystone: the admin or a persona
        self.log = deployment.path('log', 'openstack.log')

    def __call__(self, *args, as_json=False):
        argv = [self.deployment.bin('openstack')] + list(args)
        if as_json:
            argv += ['-f', 'json']
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=nmn.CLI_TIMEOUT,
            env=self.deployment._env(self.deployment.env(self.user)),
            stdin=subprocess.DEVNULL)
        with open(self.log, 'a') as f:
            f.write('%s$ openstack %s\n%s%s[exit %d]\n' % (
                '' if self.user == ks.ADMIN else '(%s) ' % self.user,
                ' '.join(args), result.stdout, result.stderr,
                result.returncode))
        if result.returncode:
            raise nmn.DeploymentError('openstack %s: exit %d: %s' % (
                ' '.join(args), result.returncode, result.stderr.strip()))
        return json.loads(result.stdout) if as_json else result.stdout

    def server(self):
        return self('server', 'show', nmn.SERVER, as_json=True)


def guest_paths(deployment, index, uuid):
    """The namespace files of guest ``uuid`` on compute ``index``."""
    import libvirt

    from nova.virt.libvirt import domain_xml
    conn = libvirt.open(deployment.host(index).uri)
    try:
        xml = conn.lookupByUUIDString(uuid).XMLDesc(0)
    finally:
        conn.close()
    return domain_xml.nvdimm_paths(xml)


def _wait_for_pages(path, pages, timeout=60):
    from nova.virt.libvirt import devguest
    deadline = time.monotonic() + timeout
    while True:
        control = devguest.read_control(path)
        if control is not None and control.written >= pages:
            return control
        if time.monotonic() > deadline:
            raise nmn.DeploymentError('the guest wrote no %d pages into %s in '
                                  '%d s: %s' % (pages, path, timeout,
                                                control))
        time.sleep(0.2)


def _on_host(deployment, cli, index):
    """The server is ACTIVE on compute ``index``, its QEMU in that
    namespace, and every page its guest wrote is intact there."""
    from nova.tests.multinode import libvirt_hosts
    from nova.virt.libvirt import local_hosts
    server = cli.server()
    where = (server['status'], server['OS-EXT-SRV-ATTR:host'])
    if where != ('ACTIVE', compute_name(index)):
        raise nmn.DeploymentError('server is %s on %s, not ACTIVE on %s' % (
            where + (compute_name(index),)))
    host = deployment.host(index)
    qemu = libvirt_hosts.qemu_pids(host)
    if len(qemu) != 1 or not libvirt_hosts.same_namespace(qemu[0],
                                                          host.netns):
        raise nmn.DeploymentError('QEMU %s is not one process in %s' % (
            qemu, host.netns))
    paths = guest_paths(deployment, index, server['id'])
    _wait_for_pages(paths[0], 20)
    local_hosts.stop_guest_writes(paths[0])
    report = local_hosts.verify_pattern(paths)
    if not report.ok:
        raise nmn.DeploymentError('vpmem of the guest on %s: %s' % (
            compute_name(index), report))
    local_hosts.resume_guest_writes(paths[0])
    return None, 'QEMU %d in %s; %s' % (qemu[0], host.netns, report)


def _live_migrate(cli, source, dest):
    """The CLI's live migration; how much crossed the source's veth."""
    port = network.ComputeLink(source).bridge_port
    # The bridge's end receives what the namespace sends.
    before = network.byte_counters(port)[0]
    cli('server', 'migrate', '--live-migration', '--host',
        compute_name(dest), '--wait', nmn.SERVER)
    sent = network.byte_counters(port)[0] - before
    return None, '%.1f MiB out of %s over %s' % (
        sent / 2 ** 20, network.ComputeLink(source).namespace, port)


def _migrations(cli, count):
    rows = cli('server', 'migration', 'list', '--server', nmn.SERVER,
               as_json=True)
    kinds = sorted((row['Type'], row['Status']) for row in rows)
    if kinds != [('live-migration', 'completed')] * count:
        raise nmn.DeploymentError('migrations: %s' % kinds)
    return None, '%d completed live-migration(s)' % count


def _audit(deployment):
    argv = [deployment.bin('nova-manage'), '--config-file',
            deployment.path('etc', 'nova-conductor.conf'), 'vpmem', 'audit']
    result = subprocess.run(argv, capture_output=True, text=True,
                            env=deployment._env({}))
    if result.returncode:
        raise nmn.DeploymentError('vpmem audit exit %d: %s%s' % (
            result.returncode, result.stdout, result.stderr))
    return None, result.stdout.strip().splitlines()[-1]


def check(deployment, keep=False):
    """Up; the CLI boots a vpmem server on compute-1, live-migrates it to
    compute-2 and back, lists the migrations, deletes it; down."""
    steps = nmn.Steps(deployment.out)
    cli = Cli(deployment)
    passed = False
    try:
        # up stops what it started when it fails.
        deployment.up(steps)
    except BaseException:
        if not keep:
            deployment.purge(keep_logs=True)
        raise
    try:
        steps('flavor create hw:pmem=%s' % PMEM, lambda: (None, cli(
            'flavor', 'create', '--ram', str(nmn.FLAVOR_RAM_MB), '--vcpus',
            '1', '--disk', '0', '--property', 'hw:pmem=%s' % PMEM,
            nmn.FLAVOR, as_json=True)['id']))
        # Only compute-1 takes the boot: the migration goes to compute-2.
        cli('compute', 'service', 'set', '--disable', compute_name(2),
            'nova-compute')
        steps('server create --wait (on %s)' % compute_name(1), lambda: (
            None, cli('server', 'create', '--flavor', nmn.FLAVOR, '--image',
                      nmn.IMAGE_NAME, '--nic', 'none', '--wait', nmn.SERVER,
                      as_json=True)['id']))
        cli('compute', 'service', 'set', '--enable', compute_name(2),
            'nova-compute')
        steps('guest writes its vpmem on %s' % compute_name(1), _on_host,
              deployment, cli, 1)
        for count, (source, dest) in enumerate(((1, 2), (2, 1)), 1):
            steps('live-migrate %s -> %s --wait' % (
                compute_name(source), compute_name(dest)), _live_migrate,
                cli, source, dest)
            steps('ACTIVE on %s, vpmem intact' % compute_name(dest),
                  _on_host, deployment, cli, dest)
            steps('server migration list', _migrations, cli, count)
        steps('server delete --wait', cli, 'server', 'delete', '--wait',
              nmn.SERVER)
        steps('nova-manage vpmem audit', _audit, deployment)
        passed = True
    finally:
        try:
            deployment.down(steps)
        except Exception as exc:
            if passed:
                raise
            # The first failure is the one to report.
            deployment.out.write('down after the failure: %s\n' % exc)
        if not keep:
            # A failure's logs stay for the reader; the data goes.
            deployment.purge(keep_logs=not passed)

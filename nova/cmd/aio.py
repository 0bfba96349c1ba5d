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

"""nova-aio: a whole vpmem cloud in one process, no root, no services.

    nova-aio demo [--vpmem-size-mib N] [--vpmem-count N]
                  [--state-dir DIR] [--hypervisor emulated|libvirt]
                  [--bandwidth-mib N] [--dirty-pages N]
                  [--completion-timeout N]
    nova-aio serve [--port N] [--state-dir DIR] [--hypervisor ...]
                   [--bandwidth-mib N] [--dirty-pages N]
                   [--completion-timeout N]

``demo`` live-migrates a server with vpmem through the API and exits 0
when every check of its report holds, 1 naming the failed checks, 2 when
the chosen hypervisor is not available or an option cannot be honoured
on it. ``serve`` keeps the cloud running until Ctrl-C; running it again
on the same state directory resumes it.
"""

import argparse
import os
import sys

from rich import console as rich_console

from nova.aio import demo
from nova.aio import give_up
from nova.aio import real_hosts
from nova.aio import serve


def _positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError('must be a positive integer')
    return value


def _not_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError('must be 0 or more')
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog='nova-aio', description='An all-in-one vpmem cloud in one '
        'process: placement, database, messaging, API, conductor and two '
        'compute hosts.')
    commands = parser.add_subparsers(dest='command', metavar='<command>')
    commands.required = True

    def common(sub, default_dir):
        sub.add_argument('--state-dir', default=default_dir,
                         help='where the databases, namespaces, hosts and '
                              'logs live (default: %(default)s)')
        sub.add_argument('--hypervisor', choices=('emulated', 'libvirt'),
                         default='emulated',
                         help='emulated hosts (default), or two real '
                              'local libvirt hosts (libvirt + QEMU)')

    run = commands.add_parser(
        'demo', help='live-migrate a vpmem server and verify the result')
    common(run, os.path.join('.aio', 'demo'))
    run.add_argument('--vpmem-size-mib', type=_positive, default=64,
                     help='size of each namespace (default: %(default)s)')
    run.add_argument('--vpmem-count', type=_positive, default=2,
                     help='namespaces of the server (default: %(default)s)')
    add_migration_options(run, bandwidth_mib=64, dirty_pages=1024)

    keep = commands.add_parser(
        'serve', help='run the cloud until Ctrl-C (resumes its state)')
    common(keep, os.path.join('.aio', 'serve'))
    keep.add_argument('--port', type=_not_negative, default=8774,
                      help='API port on 127.0.0.1 (default: %(default)s)')
    keep.add_argument('--vpmem-size-mib', type=_positive, default=64,
                      help='size of each namespace (default: %(default)s)')
    keep.add_argument('--namespaces', type=_positive, default=4,
                      help='namespaces per host (default: %(default)s)')
    add_migration_options(keep, bandwidth_mib=0, dirty_pages=0)
    return parser


def add_migration_options(sub, bandwidth_mib, dirty_pages):
    """The live migration options ``demo`` and ``serve`` share.

    Only the defaults differ: the demo migrates a busy guest at a
    bandwidth it can watch, serve leaves guests quiet and the bandwidth
    unlimited unless asked.
    """
    sub.add_argument('--bandwidth-mib', type=_not_negative,
                     default=bandwidth_mib,
                     help='live migration bandwidth in MiB/s, 0 for '
                          'unlimited: a slow one leaves time to watch, '
                          'abort or force-complete a migration '
                          '([libvirt]live_migration_bandwidth; default: '
                          '%(default)s)')
    sub.add_argument('--dirty-pages', type=_not_negative, default=None,
                     help='4 KiB pages each guest writes per second into '
                          'its vpmem (default: %d on emulated hosts; with '
                          '--hypervisor libvirt the stamp guest\'s own '
                          'pace, and at most what it can do)' % dirty_pages)
    sub.set_defaults(default_dirty_pages=dirty_pages)
    sub.add_argument('--completion-timeout', type=_not_negative,
                     default=None,
                     help='seconds a live migration may run per GiB of '
                          'RAM + vpmem before the compute host takes its '
                          'timeout action, abort by default '
                          '([libvirt]live_migration_completion_timeout; '
                          'default: the option\'s default; 0: no limit). '
                          'The demo gives up, and aborts the migration '
                          'through the API, %d s after the same budget'
                          % give_up.GRACE)


def migration_options(args):
    """The shared options as the keyword arguments of Demo/ServeOptions.

    Returns (kwargs, None), or (None, message) when the combination
    cannot be honoured.
    """
    dirty = args.dirty_pages
    if args.hypervisor == 'libvirt':
        if dirty == 0:
            return None, (
                '--dirty-pages 0 is not available with --hypervisor '
                'libvirt: the stamp guest always writes (that is what its '
                'check proves). Give a rate of 1 or more, or leave the '
                'option out for its own pace.')
        dirty = dirty or 0          # 0: the stamp guest's own pace
    elif dirty is None:
        dirty = args.default_dirty_pages
    return {'bandwidth_mib': args.bandwidth_mib,
            'dirty_pages_per_second': dirty,
            'completion_timeout': args.completion_timeout}, None


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    console = rich_console.Console(
        highlight=False,
        width=None if sys.stdout.isatty() else 110)
    state_dir = os.path.abspath(args.state_dir)
    shared, refused = migration_options(args)
    if refused:
        console.print('nova-aio %s: %s' % (args.command, refused),
                      soft_wrap=True, markup=False)
        return 2
    if args.hypervisor == 'libvirt':
        missing = real_hosts.missing_requirements()
        if missing:
            console.print(real_hosts.explain_missing(missing),
                          soft_wrap=True, markup=False)
            return 2
    if args.command == 'demo':
        return demo.run(demo.DemoOptions(
            state_dir=state_dir, vpmem_mib=args.vpmem_size_mib,
            vpmem_count=args.vpmem_count, hypervisor=args.hypervisor,
            **shared), console)
    return serve.run(serve.ServeOptions(
        state_dir=state_dir, port=args.port, vpmem_mib=args.vpmem_size_mib,
        namespaces=args.namespaces, hypervisor=args.hypervisor,
        **shared), console)


if __name__ == '__main__':
    sys.exit(main())

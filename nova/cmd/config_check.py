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

"""Misspelt option groups and options in the configuration files.

oslo.config ignores what it does not know: ``[databse]`` or
``max_pool_szie`` in ``nova.conf`` silently leave the default in force.
Two checks tell the operator:

* ``nova-manage config validate`` runs oslo.config's validator
  (``oslo-config-validator``) on each config file against the option
  namespaces of our sample configuration, names every group/option it
  does not know and exits non-zero when it found any;
* at start every service logs a WARNING per unknown group or option in
  its config files and starts anyway: other services may share the file.
"""

import difflib
import importlib.metadata
import logging as std_logging
import os

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_config import validator
from oslo_log import log as logging

from nova.conf import database
from nova import exception

LOG = logging.getLogger(__name__)

# The namespaces of etc/nova/nova-config-generator.conf (a test keeps the
# two lists equal): the options an operator may set for nova-vpmem.
NAMESPACES = (
    'nova.conf',
    'oslo.log',
    'oslo.messaging',
    'oslo.concurrency',
    'oslo.policy',
    'oslo.middleware',
    'oslo.service.periodic_task',
    'keystonemiddleware.auth_token',
)

MEANING = ('nova-vpmem ignores it; a misspelling leaves the default in '
           'force, but another service sharing this file may use it')


def config_files(conf):
    """The config files ``conf`` read, in order, config-dir files last."""
    files = list(conf.config_file or [])
    for directory in conf.config_dir or []:
        if os.path.isdir(directory):
            files.extend(os.path.join(directory, name)
                         for name in sorted(os.listdir(directory))
                         if name.endswith('.conf'))
    return files


def read_sections(path):
    """``{group: {option: [values]}}`` as written in one config file."""
    sections = {}
    cfg.ConfigParser(path, sections).parse()
    return sections


def _auth_plugin_options(options):
    # A keystoneauth group ([placement], [keystone_authtoken]) takes the
    # options of the plugin its auth_type names, which the sample cannot
    # list for every plugin.
    auth_type = (options.get('auth_type') or [None])[-1]
    if not auth_type:
        return set()
    try:
        plugin_opts = ks_loading.get_auth_plugin_conf_options(auth_type)
    except Exception:
        # An unknown plugin fails when the service loads it, by name.
        return set()
    return {name for opt in plugin_opts for name in (opt.name, opt.dest)}


def _namespace_options():
    known = {}
    for entry_point in importlib.metadata.entry_points(
            group='oslo.config.opts'):
        if entry_point.name not in NAMESPACES:
            continue
        try:
            listed = entry_point.load()()
        except Exception as exc:
            # A warning helper must not stop the start; its options then
            # count as registered ones only.
            LOG.debug('Cannot list the options of %s: %s',
                      entry_point.name, exc)
            continue
        for group, opts in listed:
            group = str(group or 'DEFAULT')
            names = known.setdefault(group, set())
            for opt in opts:
                names.update((opt.name, opt.dest))
                for old in opt.deprecated_opts:
                    known.setdefault(old.group or group, set()).add(old.name)
    return known


def known_options(conf):
    """``{group: {option names}}`` registered in ``conf`` or listed in
    our namespaces (libraries register some groups only when used)."""
    known = _namespace_options()
    for key in conf:
        try:
            value = conf[key]
        except cfg.Error:
            # An option with a bad value: its name is all we need here.
            value = None
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            known.setdefault(key, set()).update(value)
        else:
            known.setdefault('DEFAULT', set()).add(key)
    return known


def _did_you_mean(name, candidates, template='%s'):
    close = difflib.get_close_matches(name, candidates, n=1)
    return ' (did you mean %s?)' % (template % close[0]) if close else ''


def unknown_options(conf, paths):
    """One message per unknown group or option in the files ``paths``."""
    known = known_options(conf)
    problems = []
    for path in paths:
        for group, options in read_sections(path).items():
            if group not in known:
                problems.append('[%s] in %s is not an option group of '
                                'nova-vpmem%s: %s.' % (
                                    group, path,
                                    _did_you_mean(group, list(known),
                                                  '[%s]'),
                                    MEANING))
                continue
            names = known[group] | _auth_plugin_options(options)
            for option in options:
                if option not in names:
                    problems.append(
                        '[%s] %s in %s is not an option of nova-vpmem%s: '
                        '%s.' % (group, option, path,
                                 _did_you_mean(option, list(names)),
                                 MEANING))
    return problems


def warn_unknown_options(conf):
    """Log a WARNING per unknown group or option; never fails the start."""
    for problem in unknown_options(conf, config_files(conf)):
        LOG.warning('%s', problem)


class _Records(std_logging.Handler):
    def __init__(self):
        super().__init__(level=std_logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def validate_file(path):
    """Run oslo.config's validator on ``path``.

    Returns ``(errors, warnings)``: lines naming the file, the group and
    the option, for unknown options and for deprecated names.
    """
    conf = cfg.ConfigOpts()
    validator._register_cli_opts(conf)
    args = ['--input-file', path]
    for namespace in NAMESPACES:
        args += ['--namespace', namespace]
    conf(args, project='nova', default_config_files=[],
         default_config_dirs=[])
    # The validator reports through logging; collect instead of print.
    logger = std_logging.getLogger(validator.__name__)
    records = _Records()
    logger.addHandler(records)
    propagate, logger.propagate = logger.propagate, False
    # Whatever the logging setup, the deprecated names must get through.
    level = logger.level
    logger.setLevel(std_logging.WARNING)
    try:
        validator._validate(conf)
    finally:
        logger.setLevel(level)
        logger.propagate = propagate
        logger.removeHandler(records)
    sections = read_sections(path)
    errors, warnings = [], []
    for record in records.records:
        group, option = record.args[:2]
        if option in _auth_plugin_options(sections.get(group, {})):
            continue
        if record.levelno >= std_logging.ERROR:
            errors.append('%s: [%s] %s is not an option of nova-vpmem.'
                          % (path, group, option))
        else:
            warnings.append('%s: [%s] %s is a deprecated name; the '
                            'configuration reference has the new one.'
                            % (path, group, option))
    return errors, warnings


def check_service_config(conf):
    """What every service checks in its configuration before it starts.

    Logs a WARNING per unknown group or option, and raises
    InvalidConfiguration when ``[database]connection`` is not set (there
    is no default database).
    """
    warn_unknown_options(conf)
    if not conf.database.connection:
        raise exception.InvalidConfiguration(
            reason=database.missing_connection_reason(conf))


class ConfigCommands:
    """``nova-manage config ...``: the configuration files."""

    def __init__(self, conf=None):
        self.conf = conf or cfg.CONF

    def validate(self):
        """Check every config file; exit status 1 when any has problems."""
        paths = config_files(self.conf)
        if not paths:
            print('No config file was read: pass --config-file '
                  '/etc/nova/nova.conf (or --config-dir).')
            return 1
        errors = []
        for path in paths:
            file_errors, warnings = validate_file(path)
            for line in file_errors + warnings:
                print(line)
            errors.extend(file_errors)
        if errors:
            print('%d unknown option(s): nova-vpmem ignores them. Fix the '
                  'spelling, or leave the lines other services sharing '
                  'the file read.' % len(errors))
            return 1
        print('No unknown option in %s.' % ', '.join(paths))
        return 0


def add_command_parsers(subparsers):
    """The ``config`` category of nova-manage."""
    config = subparsers.add_parser(
        'config', help='Configuration file checks.')
    actions = config.add_subparsers(dest='action', metavar='<action>')
    actions.required = True
    validate = actions.add_parser(
        'validate', help='Report misspelt or unknown groups and options in '
                         'the config files (oslo-config-validator).')
    validate.set_defaults(action_fn=lambda cmds: cmds.validate())

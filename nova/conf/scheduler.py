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

"""Options of the [filter_scheduler] group: how the conductor's scheduler
chooses among the hosts placement offers."""

from oslo_config import cfg

# How a host is chosen among the compute hosts placement says can hold a
# request.
filter_scheduler_group = cfg.OptGroup(
    'filter_scheduler',
    title='Scheduler options')

filter_scheduler_opts = [
    cfg.IntOpt('host_subset_size',
               default=3,
               min=1,
               help="Choose at random among this many of the best hosts "
                    "(those with the most free units of what is asked; "
                    "hosts equally good are in random order). 1 always "
                    "takes the best host, which makes concurrent requests "
                    "pile onto the same one until its claims fill it up; "
                    "a larger value spreads a burst of requests over more "
                    "hosts at the cost of a less even fill. Nova's "
                    "default is 1; this project's is 3, so that the "
                    "concurrent migrations of a host evacuation spread."),
]


def register_opts(conf):
    conf.register_group(filter_scheduler_group)
    conf.register_opts(filter_scheduler_opts, group=filter_scheduler_group)


def list_opts():
    return {filter_scheduler_group: filter_scheduler_opts}

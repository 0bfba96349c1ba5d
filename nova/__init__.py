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

"""Nova-vpmem: Nova-style compute with live migration of vpmem."""

import os

# Nothing here runs on eventlet, but oslo.messaging and oslo.service
# import it when it is installed, and eventlet then imports dnspython,
# whose DSA module prints deprecation warnings on every start with a
# current cryptography (16 lines on each nova-manage call). Without its
# green DNS resolver eventlet leaves dnspython alone.
os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')

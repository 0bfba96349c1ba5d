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

"""JSON schemas checked against their meta-schema once per process.

``jsonschema.validate`` checks the schema itself before each validation;
for a small request body that check costs forty times the validation.
Nova's API (:mod:`nova.api.validation`) and the embedded placement
(:mod:`nova.embedded.placement`) validate every request against schemas
that are module constants, so both go through :data:`CHECKED`: a schema
is checked the first time it is seen, and the same errors are reported
as by ``jsonschema.validate``.
"""

import threading

import jsonschema

# Schemas remembered per table: a caller that builds a schema per
# request has only the first ones remembered (the rest are checked each
# time), so the table never grows without bound.
LIMIT = 512


class CheckedSchemas:
    """The schemas checked so far, by identity and validator class."""

    def __init__(self, limit=LIMIT):
        self.limit = limit
        self._lock = threading.Lock()
        # (id(schema), validator class) -> schema, held so that its id
        # cannot be reused by another object.
        self._checked = {}

    def __len__(self):
        return len(self._checked)

    def validator(self, schema, cls=None, *args, **kwargs):
        """A validator of ``schema`` (``cls``: from its ``$schema``).

        Raises ``jsonschema.SchemaError`` for a broken schema, every
        time: only a schema that passed is remembered.
        """
        if cls is None:
            cls = jsonschema.validators.validator_for(schema)
        key = (id(schema), cls)
        if key not in self._checked:
            cls.check_schema(schema)
            with self._lock:
                if len(self._checked) < self.limit:
                    self._checked[key] = schema
        # Building the validator costs microseconds; the check above is
        # what is worth saving.
        return cls(schema, *args, **kwargs)

    def validate(self, instance, schema, cls=None, *args, **kwargs):
        """As ``jsonschema.validate``: raises the best-matching error."""
        error = jsonschema.exceptions.best_match(
            self.validator(schema, cls, *args, **kwargs).iter_errors(
                instance))
        if error is not None:
            raise error


# The process's table.
CHECKED = CheckedSchemas()

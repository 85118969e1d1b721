"""The runtime every generated package runs on: step runner, logs, step cache, command line.

This folder is copied verbatim into each generated package as `PKG/_runtime/`
(pip's `_vendor` precedent): a package installs and runs with nothing of
nb2prod installed, and keeps working whatever nb2prod version is installed
later. So it imports nothing from the rest of nb2prod, only the standard
library and itself (relative imports); what is specific to a package (its
names, steps, parameters) is passed in by the package's generated modules.
`nb2prod build --check` compares a package's copy with this folder.
"""

RUNTIME_VERSION = "0.1.0"
"""The nb2prod version this runtime comes from (tests keep it equal to nb2prod's)."""

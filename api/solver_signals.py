"""Imported first, and only, by the solver's fork server (``api.services.rounds``).

A stop for the worker's whole process group (systemd's SIGTERM to the unit, Ctrl-C in a
terminal) must not end the fork server or a solve forked from it: the worker lets the job in
hand finish, then stops, and the fork server ends with it (its pipe to the worker closes).
Importing this module anywhere else would make that process ignore SIGTERM: don't.
"""

import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)

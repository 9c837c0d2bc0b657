"""A simulated JetBackup 5 server: the ``jetbackup5api`` tool, its state, and an SSH front end.

Layers, from the bottom:

* :mod:`~jbremote.sim.state` — jobs, destinations, runs and fault knobs of one server, as plain
  dataclasses that round-trip through JSON.
* :mod:`~jbremote.sim.timeline` — what a run looks like at a given instant. Nothing ticks: every
  call computes queued / processing / finished from stored timestamps and ``now``.
* :mod:`~jbremote.sim.views` — the API objects (job, destination, queue group, item, log).
* :mod:`~jbremote.sim.functions` — one handler per API function.
* :mod:`~jbremote.sim.api` — parses the ``jetbackup5api -F … -D … -O …`` argv and renders the
  envelope; :mod:`~jbremote.sim.service` runs one command against the on-disk store
  (:mod:`~jbremote.sim.store`) with the fault knobs applied.
* :mod:`~jbremote.sim.cli` — the executable (an sshd forced command or a ``jetbackup5api`` shim).
* :mod:`~jbremote.sim.sshserver`, :mod:`~jbremote.sim.fleet`, :mod:`~jbremote.sim.ledger` — an
  in-process paramiko SSH server, a whole fleet on loopback, and the after-the-fact checks.

This package file imports nothing: the executable must start fast.
"""

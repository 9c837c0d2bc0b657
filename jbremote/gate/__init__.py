"""The server-side gate: a forced command that lets jbremote's key run only jbremote's calls.

:mod:`jbremote.gate.jbremote_gate` is the program copied to servers (standard library only, one
file, Python 3.6+; it imports nothing from jbremote); :mod:`jbremote.gate.install` produces the
``authorized_keys`` line and the steps to install it.
"""

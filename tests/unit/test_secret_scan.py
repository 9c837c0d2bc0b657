"""The suite-wide secret scan itself catches a leak (so its silence means something)."""

from __future__ import annotations

import logging

from tests import secret_scan


def test_a_logged_secret_is_caught_without_being_repeated() -> None:
    secret_scan.register("Scan-Probe-7yT2-secret")
    before = len(secret_scan.LEAKS)
    try:
        logging.getLogger("jbremote.probe").warning("token=%s", "Scan-Probe-7yT2-secret")
        found = secret_scan.LEAKS[before:]
        assert found == ["log record of jbremote.probe: contains the test secret Sca…"]
    finally:
        del secret_scan.LEAKS[before:]
        secret_scan.SECRETS.discard("Scan-Probe-7yT2-secret")

"""Alerts through Apprise: job failures, timeouts, partial runs, overruns, cycle summaries.

Prefect-free except :mod:`jbremote.notify.flowrun` (the flow's glue and hooks). Start at
:class:`~jbremote.notify.notifier.Notifier`; ``jbremote notify test`` uses
:func:`~jbremote.notify.sample.send_samples`. docs/alerts.md describes the behaviour.
"""

from jbremote.notify.alert import Alert, AlertContext
from jbremote.notify.deliver import Delivery
from jbremote.notify.notifier import Notifier

__all__ = ["Alert", "AlertContext", "Delivery", "Notifier"]

"""The core decisions, pure: every input passed in, `now` included; no I/O.

Owns triage (the rule chain), check-in and escalation policy, business-time arithmetic, owners' plan lines and
signed reply addresses, routing senders to accounts, what each automatic message says, and retry decisions.
May import `service.detector`, `service.mailformat`, `service.errors`; never the store, adapters, flows, runtime,
settings or any database or mail-server library.
"""

"""Use cases, one module each: load what the core needs from the store, let the core decide, write it down.

Intake of a fetched batch, owners' replies, check-ins, escalations and digests, event reminders, account set-up,
and the one way out for every automatic message. May import `service.settings`, `service.store`,
`service.adapters` (value types only), `service.core` and below; never the runtime or the CLI.
"""

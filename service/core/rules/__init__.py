"""The inbound rules: each answers one question about a message, with a stable name; pure.

`facts` holds what they read (gathered by the flows, passed in as plain values);
`screening` asks whether a message is ours, a machine's, or a request to stop;
`owner_authority` whether an owner's reply may change anything; `concern_rules`
whether a message follows up a concern, carries a new one, and may be answered;
`client_reply` what a client's reply changes in its concern. The chains that ask
them are in `service.core.triage` (and `client_reply`). Imports: `service.core`
(`chain`, `checkin_policy`, `owner_commands`, `routing`), the detector's
`Verdict` and the parsed `Inbound`; nothing that does I/O.
"""
